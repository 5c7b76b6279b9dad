package server

import "syscall"

var syscallEMFILE = syscall.EMFILE

type syscallRlimit = syscall.Rlimit

func getrlimitNOFILE(l *syscall.Rlimit) error { return syscall.Getrlimit(syscall.RLIMIT_NOFILE, l) }
