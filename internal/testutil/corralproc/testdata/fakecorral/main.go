// Command fakecorral stands in for `corral server` in corralproc's own tests: it listens
// on --client-addr, answers "ruok" with "imok", and appends a line to <data-dir>/starts.
package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
)

func main() {
	if len(os.Args) < 2 || os.Args[1] != "server" {
		fmt.Fprintln(os.Stderr, "usage: fakecorral server --client-addr ADDR --data-dir DIR")
		os.Exit(2)
	}
	fs := flag.NewFlagSet("server", flag.ExitOnError)
	addr := fs.String("client-addr", "", "")
	dir := fs.String("data-dir", "", "")
	_ = fs.Parse(os.Args[2:])
	f, err := os.OpenFile(filepath.Join(*dir, "starts"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		panic(err)
	}
	fmt.Fprintln(f, "start")
	f.Close()
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			b := make([]byte, 4)
			if _, err := io.ReadFull(c, b); err == nil && string(b) == "ruok" {
				c.Write([]byte("imok"))
			}
		}()
	}
}
