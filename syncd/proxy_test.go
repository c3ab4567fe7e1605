package main

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
)

// cutProxy forwards TCP to a server and can cut a connection after a
// number of bytes in either direction: a mobile network dropping out in the
// middle of a transfer.
type cutProxy struct {
	ln       net.Listener
	target   string
	up, down atomic.Int64 // bytes forwarded
	mu       sync.Mutex
	cutUp    int64 // cut the next connection after this many bytes to the server (0: never)
	cutDown  int64 // ... from the server
	cuts     int
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target}
	var wg sync.WaitGroup
	done := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				p.serve(c, done)
			}()
		}
	}()
	t.Cleanup(func() {
		close(done)
		ln.Close()
		wg.Wait()
	})
	return p
}

func (p *cutProxy) URL() string { return "http://" + p.ln.Addr().String() }

// cutAfter arms a cut of the next connection.
func (p *cutProxy) cutAfter(up, down int64) {
	p.mu.Lock()
	p.cutUp, p.cutDown = up, down
	p.mu.Unlock()
}

func (p *cutProxy) serve(c net.Conn, done chan struct{}) {
	defer c.Close()
	s, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	defer s.Close()
	p.mu.Lock()
	up, down := p.cutUp, p.cutDown
	p.mu.Unlock()
	closeBoth := func() { c.Close(); s.Close() }
	cut := func() {
		p.mu.Lock()
		p.cutUp, p.cutDown = 0, 0
		p.cuts++
		p.mu.Unlock()
		closeBoth()
	}
	var wg sync.WaitGroup
	pipe := func(dst, src net.Conn, limit int64, count *atomic.Int64) {
		defer wg.Done()
		buf := make([]byte, 32<<10)
		var n int64
		for {
			k, err := src.Read(buf)
			if k > 0 {
				if limit > 0 && n+int64(k) >= limit {
					k = int(limit - n)
					dst.Write(buf[:k])
					count.Add(int64(k))
					cut()
					return
				}
				if _, werr := dst.Write(buf[:k]); werr != nil {
					closeBoth()
					return
				}
				n += int64(k)
				count.Add(int64(k))
			}
			if err != nil {
				if err != io.EOF {
					closeBoth()
				} else if tc, ok := dst.(*net.TCPConn); ok {
					tc.CloseWrite()
				}
				return
			}
		}
	}
	wg.Add(2)
	go pipe(s, c, up, &p.up)
	go pipe(c, s, down, &p.down)
	finished := make(chan struct{})
	go func() {
		select {
		case <-done:
			closeBoth()
		case <-finished:
		}
	}()
	wg.Wait()
	close(finished)
}
