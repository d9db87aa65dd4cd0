package measure

import (
	"bufio"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// Scrape reads the API writes by verb (refused ones by verb and status code, e.g. "PUT 409")
// from the metrics of a binary of this project at url. Resident memory is read from /proc
// (ProcessRSS), which is the same figure.
func Scrape(url string) (map[string]float64, error) {
	resp, err := http.Get(url) //nolint:gosec // loopback URLs built by the bench
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	writes := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		fields := strings.Fields(line)
		if len(fields) != 2 {
			continue
		}
		v, err := strconv.ParseFloat(fields[1], 64)
		if err != nil {
			continue
		}
		if !strings.HasPrefix(line, "cap_op_rest_client_requests_total{") {
			continue
		}
		method := labelValue(fields[0], "method")
		if method == "GET" || method == "LIST" || method == "WATCH" {
			continue
		}
		if code := labelValue(fields[0], "code"); !strings.HasPrefix(code, "2") {
			method += " " + code // refused writes (409 conflicts) are counted apart
		}
		writes[method] += v
	}
	return writes, sc.Err()
}

// labelValue extracts a label's value from a metric sample name.
func labelValue(sample, label string) string {
	i := strings.Index(sample, label+`="`)
	if i < 0 {
		return ""
	}
	rest := sample[i+len(label)+2:]
	end := strings.IndexByte(rest, '"')
	if end < 0 {
		return ""
	}
	return rest[:end]
}
