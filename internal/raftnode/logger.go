package raftnode

import (
	"context"
	"fmt"
	"log/slog"
	"sort"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// raftLogger adapts slog for etcd-raft. raft's Info lines (elections, votes, ignored
// pre-votes: several a second while a member is cut off) go to Debug; the member logs
// leader changes itself at Info.
type raftLogger struct{ l *slog.Logger }

func (r raftLogger) Debug(v ...any)              { r.l.Debug(fmt.Sprint(v...)) }
func (r raftLogger) Debugf(f string, v ...any)   { r.l.Debug(fmt.Sprintf(f, v...)) }
func (r raftLogger) Info(v ...any)               { r.l.Debug(fmt.Sprint(v...)) }
func (r raftLogger) Infof(f string, v ...any)    { r.l.Debug(fmt.Sprintf(f, v...)) }
func (r raftLogger) Warning(v ...any)            { r.l.Warn(fmt.Sprint(v...)) }
func (r raftLogger) Warningf(f string, v ...any) { r.l.Warn(fmt.Sprintf(f, v...)) }
func (r raftLogger) Error(v ...any)              { r.l.Error(fmt.Sprint(v...)) }
func (r raftLogger) Errorf(f string, v ...any)   { r.l.Error(fmt.Sprintf(f, v...)) }
func (r raftLogger) Fatal(v ...any)              { r.fatal(fmt.Sprint(v...)) }
func (r raftLogger) Fatalf(f string, v ...any)   { r.fatal(fmt.Sprintf(f, v...)) }
func (r raftLogger) Panic(v ...any)              { r.panic(fmt.Sprint(v...)) }
func (r raftLogger) Panicf(f string, v ...any)   { r.panic(fmt.Sprintf(f, v...)) }
func (r raftLogger) panic(msg string)            { r.l.Error(msg); panic(msg) }
func (r raftLogger) fatal(msg string)            { r.l.Error(msg); exit(1); panic(msg) }

// newZapLogger returns a *zap.Logger (what etcd's WAL wants) that forwards to l.
func newZapLogger(l *slog.Logger) *zap.Logger {
	return zap.New(&slogCore{l: l})
}

// slogCore is a zapcore.Core writing to a slog.Logger.
type slogCore struct {
	l      *slog.Logger
	fields []zapcore.Field
}

func (c *slogCore) Enabled(lv zapcore.Level) bool {
	return c.l.Enabled(context.Background(), slogLevel(lv))
}

func (c *slogCore) With(fs []zapcore.Field) zapcore.Core {
	all := append(append([]zapcore.Field(nil), c.fields...), fs...)
	return &slogCore{l: c.l, fields: all}
}

func (c *slogCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(e.Level) {
		return ce.AddCore(e, c)
	}
	return ce
}

func (c *slogCore) Write(e zapcore.Entry, fs []zapcore.Field) error {
	enc := zapcore.NewMapObjectEncoder()
	for _, f := range c.fields {
		f.AddTo(enc)
	}
	for _, f := range fs {
		f.AddTo(enc)
	}
	keys := make([]string, 0, len(enc.Fields))
	for k := range enc.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	attrs := make([]slog.Attr, 0, len(keys)+1)
	attrs = append(attrs, slog.String("sub", "etcd-wal"))
	for _, k := range keys {
		attrs = append(attrs, slog.Any(k, enc.Fields[k]))
	}
	c.l.LogAttrs(context.Background(), slogLevel(e.Level), e.Message, attrs...)
	return nil
}

func (c *slogCore) Sync() error { return nil }

func slogLevel(lv zapcore.Level) slog.Level {
	switch {
	case lv <= zapcore.DebugLevel:
		return slog.LevelDebug
	case lv == zapcore.InfoLevel:
		return slog.LevelInfo
	case lv == zapcore.WarnLevel:
		return slog.LevelWarn
	default:
		return slog.LevelError
	}
}
