package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"time"
)

func init() {
	register(&command{
		name:    "serve",
		args:    "REF[/PATH]",
		summary: "serve a collection over HTTP",
		help: `Serves the directory PATH of a collection (its root by default), read-only, over
HTTP on --addr until interrupted: files with range requests, content types (by
extension, else sniffed) and conditional requests, and directories as listings (or their
index.html). It prints "serving REF on http://ADDR/" to standard error once listening
(useful with --addr 127.0.0.1:0, which picks a free port). Names that are not valid
UTF-8 cannot be served.`,
		nargs: between(1, 1),
		setup: func(fl *flag.FlagSet) func(t *tool, args []string) error {
			addr := fl.String("addr", "127.0.0.1:8080", "listen on `HOST:PORT`")
			return func(t *tool, args []string) error { return t.serve(args[0], *addr) }
		},
	})
}

func (t *tool) serve(ref, addr string) error {
	c, p, info, err := t.loadStat(ref)
	if err != nil {
		return err
	}
	if !info.IsDir() {
		return usagef("serve", "%s is a file: serve takes a directory", ref)
	}
	fsys, err := fs.Sub(c.FS(), p)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: http.FileServerFS(fsys), ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(t.stderr, "serving %s on http://%s/\n", ref, ln.Addr())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-t.ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = srv.Shutdown(shut)
	if serr := <-done; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	if err == nil {
		fmt.Fprintln(t.stderr, "arvfile serve: stopped")
	}
	return err
}
