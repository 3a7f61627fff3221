package threescaletest

import (
	"net/http"
	"strconv"
	"time"
)

// truncatedDoc is the document FaultTruncatedBody starts to send.
const truncatedDoc = xmlDecl + "<status><authorized>true</authorized><plan>Basic</plan></status>"

// fault applies f to the request; it reports whether the request is done.
func (s *Server) fault(w http.ResponseWriter, r *http.Request, f Fault) bool {
	switch f.Kind {
	case FaultLatency:
		t := time.NewTimer(f.Latency)
		defer t.Stop()
		select {
		case <-t.C:
			return false
		case <-r.Context().Done():
		case <-s.done:
		}
		dropConn(w, r)
	case FaultStatus:
		code := statusOr(f.Status, http.StatusServiceUnavailable)
		writeRaw(w, code, "text/plain; charset=utf-8", http.StatusText(code)+"\n")
	case FaultHTML:
		code := statusOr(f.Status, http.StatusBadGateway)
		title := strconv.Itoa(code) + " " + http.StatusText(code)
		w.Header().Set("Server", "nginx")
		writeRaw(w, code, "text/html", "<html>\r\n<head><title>"+title+"</title></head>\r\n<body>\r\n<center><h1>"+
			title+"</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n")
	case FaultTruncatedBody:
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return true
		}
		defer conn.Close()
		_, _ = buf.WriteString("HTTP/1.1 200 OK\r\ncontent-type: " + contentTypeXML +
			"\r\naccess-control-allow-origin: *\r\naccess-control-expose-headers: " + exposeHeaders +
			"\r\nContent-Length: " + strconv.Itoa(len(truncatedDoc)) + "\r\n\r\n" + truncatedDoc[:len(truncatedDoc)/2])
		_ = buf.Flush()
	case FaultDropConnection:
		dropConn(w, r)
	case FaultNoAnswer:
		select {
		case <-r.Context().Done():
		case <-s.done:
		}
		dropConn(w, r)
	default:
		return false
	}
	return true
}

func statusOr(code, def int) int {
	if code < 100 || code > 999 {
		return def
	}
	return code
}

func writeRaw(w http.ResponseWriter, code int, ctype, body string) {
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	_, _ = w.Write([]byte(body))
}

// dropConn closes the connection without a response. If the writer cannot
// be hijacked, a net/http server aborts the handler (which closes the
// stream without a response); elsewhere (recorders) nothing is written.
func dropConn(w http.ResponseWriter, r *http.Request) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err == nil {
		_ = conn.Close()
		return
	}
	if r.Context().Value(http.ServerContextKey) != nil {
		panic(http.ErrAbortHandler)
	}
}
