// otlp-sink: an OTLP trace receiver for the export-throughput benchmark. It
// decodes every request with the OpenTelemetry Collector's own OTLP
// implementation (pdata's ptraceotlp: protobuf over HTTP at /v1/traces, and
// the gRPC TraceService), counts the spans and discards them, so the sender,
// not the receiver, is what is measured.
//
//	otlp-sink -http 127.0.0.1:0 -grpc 127.0.0.1:0
//
// prints "http=ADDR grpc=ADDR" once both listen, then serves until killed.
// GET /count answers with the number of spans received so far.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"sync/atomic"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
)

var spans atomic.Int64

type traceServer struct {
	ptraceotlp.UnimplementedGRPCServer
}

func (*traceServer) Export(_ context.Context, req ptraceotlp.ExportRequest) (ptraceotlp.ExportResponse, error) {
	spans.Add(int64(req.Traces().SpanCount()))
	return ptraceotlp.NewExportResponse(), nil
}

func handleHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	req := ptraceotlp.NewExportRequest()
	if err := req.UnmarshalProto(body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	spans.Add(int64(req.Traces().SpanCount()))
	out, _ := ptraceotlp.NewExportResponse().MarshalProto()
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

func main() {
	httpAddr := flag.String("http", "127.0.0.1:0", "OTLP/HTTP listen address")
	grpcAddr := flag.String("grpc", "127.0.0.1:0", "OTLP/gRPC listen address")
	flag.Parse()

	hl, err := net.Listen("tcp", *httpAddr)
	if err != nil {
		log.Fatal(err)
	}
	gl, err := net.Listen("tcp", *grpcAddr)
	if err != nil {
		log.Fatal(err)
	}
	// Batches split by agtrace stay under 4 MiB; allow the peer's too.
	g := grpc.NewServer(grpc.MaxRecvMsgSize(64 << 20))
	ptraceotlp.RegisterGRPCServer(g, &traceServer{})
	go func() { log.Fatal(g.Serve(gl)) }()

	mux := http.NewServeMux()
	mux.HandleFunc("/v1/traces", handleHTTP)
	mux.HandleFunc("/count", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, "%d\n", spans.Load())
	})
	fmt.Printf("http=%s grpc=%s\n", hl.Addr(), gl.Addr())
	log.Fatal(http.Serve(hl, mux))
}
