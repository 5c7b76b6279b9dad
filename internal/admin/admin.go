// Package admin serves corral's HTTP admin API: Prometheus metrics at /metrics,
// the four-letter words at /commands/<word>, and a health check at /healthz.
package admin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Source is what the admin server asks the member for.
type Source interface {
	// FourLetterWord answers a four-letter word as the client port would, and
	// whether the word is known.
	FourLetterWord(word string) (string, bool)
	// Healthy reports whether the member serves requests, and why not.
	Healthy() (bool, string)
}

// Server is the running admin HTTP server.
type Server struct {
	srv *http.Server
	ln  net.Listener
}

// Start listens on addr and serves until Close. reg holds the metrics to expose.
func Start(addr string, src Source, reg *prometheus.Registry, log *slog.Logger) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("admin server on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		if ok, why := src.Healthy(); !ok {
			http.Error(w, why, http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/commands/", func(w http.ResponseWriter, r *http.Request) {
		word := strings.TrimPrefix(r.URL.Path, "/commands/")
		out, ok := src.FourLetterWord(word)
		if !ok {
			http.Error(w, "unknown command "+word, http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprint(w, out)
	})
	s := &Server{ln: ln, srv: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}}
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("admin server stopped", "err", err)
		}
	}()
	log.Info("admin server listening", "addr", ln.Addr().String(), "paths", "/metrics /healthz /commands/<4lw>")
	return s, nil
}

// Addr returns the bound address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Close stops the server.
func (s *Server) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s.srv.Shutdown(ctx)
}
