package isolate

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// A head is everything but the body that one call between the glue
// (worker.mjs) and Go carries, as one string of lines joined by "\n": a
// request crosses from JavaScript into Go in two values instead of a call per
// header. Header names and values cannot contain a newline (the Fetch
// standard refuses them), so nothing needs escaping.

var errShortHead = errors.New("the head has fewer lines than it must")

// parseRequestHead reads "method\nURL\n" and then a name line and a value line
// per header. Each value is split at commas, as syumai/workers does: the
// Workers runtime joins repeated headers with ", ", and splitting keeps a
// header sent twice recognisable (docs/contract.md#checks-in-order: an Idempotency-Key sent twice).
func parseRequestHead(head string) (method, url string, header http.Header, err error) {
	lines := strings.Split(head, "\n")
	if len(lines) < 2 {
		return "", "", nil, errShortHead
	}
	header = http.Header{}
	for i := 2; i+1 < len(lines); i += 2 {
		name := http.CanonicalHeaderKey(lines[i])
		for value := range strings.SplitSeq(lines[i+1], ",") {
			header[name] = append(header[name], value)
		}
	}
	return lines[0], lines[1], header, nil
}

// requestHead is parseRequestHead's inverse, for isolate.Fetch.
func requestHead(method, url string, header http.Header) string {
	var b strings.Builder
	b.WriteString(method + "\n" + url + "\n")
	writeHeader(&b, header)
	return b.String()
}

// responseHead writes "status\nstatus text\n" and the headers.
func responseHead(status int, header http.Header) string {
	var b strings.Builder
	b.WriteString(strconv.Itoa(status) + "\n" + http.StatusText(status) + "\n")
	writeHeader(&b, header)
	return b.String()
}

// parseResponseHead is responseHead's inverse, for a response fetched by
// isolate.Fetch: its header values are kept whole.
func parseResponseHead(head string) (status int, statusText string, header http.Header, err error) {
	lines := strings.Split(head, "\n")
	if len(lines) < 2 {
		return 0, "", nil, errShortHead
	}
	status, err = strconv.Atoi(lines[0])
	if err != nil {
		return 0, "", nil, fmt.Errorf("the status %q is not a number", lines[0])
	}
	header = http.Header{}
	for i := 2; i+1 < len(lines); i += 2 {
		header.Add(lines[i], lines[i+1])
	}
	return status, lines[1], header, nil
}

func writeHeader(b *strings.Builder, header http.Header) {
	for name, values := range header {
		for _, value := range values {
			b.WriteString(name + "\n" + value + "\n")
		}
	}
}
