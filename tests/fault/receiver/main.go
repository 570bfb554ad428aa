// fault-receiver: a real OTLP trace receiver whose faults a test controls,
// for the fault suite (tests/fault). It decodes every request with the
// OpenTelemetry Collector's own OTLP implementation (pdata's ptraceotlp:
// protobuf over HTTP at /v1/traces, and the gRPC TraceService), and appends
// the span id of every span it accepts to a file, one hex id a line, before
// it answers (a slow answer comes after the spans are recorded, as with a
// slow backend that did store them; refused and blackholed requests record
// nothing): the file outlives the process (killed or not), so a test reads
// what every incarnation on the same file accepted, and deduplicates.
//
//	fault-receiver -http 127.0.0.1:0 -grpc 127.0.0.1:0 -control 127.0.0.1:0 -ids FILE [-grpc-max-recv BYTES]
//
// prints "http=ADDR grpc=ADDR control=ADDR" once all three listen, then
// serves until killed. The control server (never faulty) takes:
//
//	POST /mode {"mode": "ok"}                         answer every request
//	POST /mode {"mode": "status", "code": 503, "retry_after": "1", "times": 3}
//	     answer the next `times` requests (0: all) with that HTTP status (gRPC:
//	     its OTLP equivalent, with RetryInfo for 429/503 when retry_after is
//	     set), then "ok" again
//	POST /mode {"mode": "blackhole"}                  read requests, never answer
//	POST /mode {"mode": "slow", "delay_ms": 3000}     answer after the delay
//	POST /mode {"mode": "reset"}                      reset (TCP RST) every
//	     connection, open or new, on both ports, until the mode changes
//	GET  /count                                       {"spans": N, "requests": N, "refused": N}
//
// Counts are this process's; the ids file is the record across restarts.
package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

// mode is what the receiver does with the next request.
type mode struct {
	Mode       string `json:"mode"`
	Code       int    `json:"code"`
	RetryAfter string `json:"retry_after"`
	Times      int    `json:"times"`
	DelayMs    int    `json:"delay_ms"`
}

type receiver struct {
	mu      sync.Mutex
	current mode
	// changed is closed and replaced whenever the mode changes, waking
	// blackholed requests so they look again.
	changed chan struct{}
	ids     *os.File
	conns   map[net.Conn]struct{}

	spans, requests, refused atomic.Int64
}

// verdict decides one request: the status to answer (0: accept), the delay
// before answering, and whether to hold it (blackhole).
func (r *receiver) verdict() (code int, retryAfter string, delay time.Duration, hold <-chan struct{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.current
	switch m.Mode {
	case "status":
		if m.Times > 0 {
			r.current.Times--
			if r.current.Times == 0 {
				r.current = mode{Mode: "ok"}
			}
		}
		return m.Code, m.RetryAfter, 0, nil
	case "blackhole":
		return 0, "", 0, r.changed
	case "slow":
		return 0, "", time.Duration(m.DelayMs) * time.Millisecond, nil
	}
	return 0, "", 0, nil
}

func (r *receiver) setMode(m mode) {
	r.mu.Lock()
	r.current = m
	close(r.changed)
	r.changed = make(chan struct{})
	var reset []net.Conn
	if m.Mode == "reset" {
		for c := range r.conns {
			reset = append(reset, c)
		}
	}
	r.mu.Unlock()
	for _, c := range reset {
		resetConn(c)
	}
}

func (r *receiver) resetting() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.current.Mode == "reset"
}

// accept records the spans of an accepted request (before the answer).
func (r *receiver) accept(td ptrace.Traces) {
	var buf []byte
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		sss := rss.At(i).ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			ss := sss.At(j).Spans()
			for k := 0; k < ss.Len(); k++ {
				id := ss.At(k).SpanID()
				buf = hex.AppendEncode(buf, id[:])
				buf = append(buf, '\n')
			}
		}
	}
	r.mu.Lock()
	_, err := r.ids.Write(buf)
	r.mu.Unlock()
	if err != nil {
		log.Fatalf("writing ids: %v", err)
	}
	r.spans.Add(int64(td.SpanCount()))
}

// wait applies a verdict's delay or hold; false when the request's context
// ended first (the client gave up).
func wait(ctx context.Context, delay time.Duration, hold <-chan struct{}) bool {
	if hold != nil {
		select {
		case <-hold:
			return false // the mode changed: the held request is never answered
		case <-ctx.Done():
			return false
		}
	}
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return false
		}
	}
	return true
}

func (r *receiver) handleHTTP(w http.ResponseWriter, req *http.Request) {
	r.requests.Add(1)
	body, err := io.ReadAll(req.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	code, retryAfter, delay, hold := r.verdict()
	er := ptraceotlp.NewExportRequest()
	if err := er.UnmarshalProto(body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if code == 0 && hold == nil {
		r.accept(er.Traces()) // a slow receiver has the spans, however late it answers
	}
	if !wait(req.Context(), delay, hold) {
		if hold != nil {
			// Never answer: drop the connection without a response.
			if hj, ok := w.(http.Hijacker); ok {
				if c, _, err := hj.Hijack(); err == nil {
					c.Close()
				}
			}
		}
		return
	}
	if code != 0 {
		r.refused.Add(1)
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		http.Error(w, "fault-receiver: refused", code)
		return
	}
	out, _ := ptraceotlp.NewExportResponse().MarshalProto()
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

type traceServer struct {
	ptraceotlp.UnimplementedGRPCServer
	r *receiver
}

// grpcCode is the OTLP/gRPC answer for an HTTP status (the OTLP spec's
// mapping: 429/502/503/504 retryable, others not).
func grpcCode(code int) codes.Code {
	switch code {
	case 429:
		return codes.ResourceExhausted
	case 502, 503, 504:
		return codes.Unavailable
	case 400:
		return codes.InvalidArgument
	case 401:
		return codes.Unauthenticated
	case 403:
		return codes.PermissionDenied
	}
	return codes.Internal
}

func (s *traceServer) Export(ctx context.Context, req ptraceotlp.ExportRequest) (ptraceotlp.ExportResponse, error) {
	r := s.r
	r.requests.Add(1)
	code, retryAfter, delay, hold := r.verdict()
	if code == 0 && hold == nil {
		r.accept(req.Traces())
	}
	if !wait(ctx, delay, hold) {
		<-ctx.Done() // a held request stays unanswered until the client gives up
		return ptraceotlp.NewExportResponse(), ctx.Err()
	}
	if code != 0 {
		r.refused.Add(1)
		st := status.New(grpcCode(code), "fault-receiver: refused")
		if secs, err := strconv.Atoi(retryAfter); err == nil {
			if d, err := st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(time.Duration(secs) * time.Second)}); err == nil {
				st = d
			}
		}
		return ptraceotlp.NewExportResponse(), st.Err()
	}
	return ptraceotlp.NewExportResponse(), nil
}

// faultyListener tracks connections so "reset" can reset them, and resets
// new ones while that mode lasts.
type faultyListener struct {
	net.Listener
	r *receiver
}

func (l faultyListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.r.resetting() {
			resetConn(c)
			continue
		}
		l.r.mu.Lock()
		l.r.conns[c] = struct{}{}
		l.r.mu.Unlock()
		return trackedConn{Conn: c, r: l.r}, nil
	}
}

type trackedConn struct {
	net.Conn
	r *receiver
}

func (c trackedConn) Close() error {
	c.r.mu.Lock()
	delete(c.r.conns, c.Conn)
	c.r.mu.Unlock()
	return c.Conn.Close()
}

// resetConn closes with SO_LINGER 0, which sends a TCP RST.
func resetConn(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}

func listen(addr string) net.Listener {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		log.Fatal(err)
	}
	return l
}

func main() {
	httpAddr := flag.String("http", "127.0.0.1:0", "OTLP/HTTP listen address")
	grpcAddr := flag.String("grpc", "127.0.0.1:0", "OTLP/gRPC listen address")
	controlAddr := flag.String("control", "127.0.0.1:0", "control listen address")
	idsPath := flag.String("ids", "", "file the accepted span ids are appended to (required)")
	maxRecv := flag.Int("grpc-max-recv", 4<<20, "largest gRPC message accepted, bytes (gRPC's default)")
	flag.Parse()
	if *idsPath == "" {
		log.Fatal("-ids is required")
	}
	ids, err := os.OpenFile(*idsPath, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		log.Fatal(err)
	}
	r := &receiver{current: mode{Mode: "ok"}, changed: make(chan struct{}), ids: ids, conns: map[net.Conn]struct{}{}}

	hl := faultyListener{listen(*httpAddr), r}
	gl := faultyListener{listen(*grpcAddr), r}
	cl := listen(*controlAddr)

	g := grpc.NewServer(grpc.MaxRecvMsgSize(*maxRecv))
	ptraceotlp.RegisterGRPCServer(g, &traceServer{r: r})
	go func() { log.Fatal(g.Serve(gl)) }()

	otlp := http.NewServeMux()
	otlp.HandleFunc("/v1/traces", r.handleHTTP)
	go func() { log.Fatal(http.Serve(hl, otlp)) }()

	control := http.NewServeMux()
	control.HandleFunc("/mode", func(w http.ResponseWriter, req *http.Request) {
		var m mode
		if err := json.NewDecoder(req.Body).Decode(&m); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		switch m.Mode {
		case "ok", "status", "blackhole", "slow", "reset":
		default:
			http.Error(w, "unknown mode "+m.Mode, http.StatusBadRequest)
			return
		}
		r.setMode(m)
	})
	control.HandleFunc("/count", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]int64{
			"spans": r.spans.Load(), "requests": r.requests.Load(), "refused": r.refused.Load(),
		})
	})
	fmt.Printf("http=%s grpc=%s control=%s\n", hl.Addr(), gl.Addr(), cl.Addr())
	log.Fatal(http.Serve(cl, control))
}
