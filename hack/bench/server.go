package main

import (
	"bytes"
	"context"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/capstan-io/capstan/hack/bench/measure"
	"github.com/capstan-io/capstan/internal/server/servertest"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// The identities of the server phase: the XSUAA stand-in issues the SaaS registry's tokens
// for the application's xsappname, and lets the server fetch callback tokens with the
// saas-registry binding's client credentials.
const (
	benchSaaSClientID = "sb-bench-saas-registry!b1"
	benchSaaSSecret   = "bench-saas-secret"
	benchXSAppName    = "cap-app-01!t1"
	// callbackPrefix is the SaaS registry's callback path prefix.
	callbackPrefix = "/saas-manager/v1/subscription-callback/"
	// acceptTarget is the target for answering every subscription request (issue 16).
	acceptTarget = 10 * time.Second
	// retryFirst and retryMax bound the wait before a request answered 429 is sent again: it
	// doubles from the first to the most, so a thousand refused clients do not take the
	// machine's CPU from the server.
	retryFirst, retryMax = 100 * time.Millisecond, 2 * time.Second
)

// fakeSAP holds the loopback stand-ins for XSUAA and the SaaS registry's callback endpoint
// (those of the end-to-end tests, internal/server/servertest) and the PEM file of the CA
// that issued their certificates, which the server trusts.
type fakeSAP struct {
	program  *servertest.Program
	xsuaa    *servertest.XSUAA
	receiver *servertest.Receiver
	caFile   string
}

// serverResult is what the server phase measured.
type serverResult struct {
	Requests int
	// Codes counts the final answers by status code; TooMany the 429 answers that were
	// retried (as the SaaS registry retries).
	Codes   map[int]int
	TooMany int
	// AllAnswered is the time from the first request until the last final answer; P50, P99
	// and Max are per request, from its first attempt to its final answer.
	AllAnswered, P50, P99, Max time.Duration
	// PeakRSS is the server's highest resident memory during the phase, RSSAfter at its end.
	PeakRSS, RSSAfter float64
	// Ready and Called are the times from the first request until every tenant was Ready
	// and until every callback arrived.
	Ready, Called time.Duration
	// Once, Missing and Duplicated count the callback paths by how often they were called.
	Once, Missing, Duplicated int
	// Succeeded counts callbacks with status SUCCEEDED.
	Succeeded int
	// CPU is the server process's CPU seconds from the first request until every callback
	// arrived.
	CPU float64
	// Profile is the server's CPU profile while the requests were answered (-cpuprofile).
	Profile string
}

// startFakeSAP starts the XSUAA stand-in and the callback receiver and points the bench
// application's xsuaa and saas-registry bindings at them (setup creates the Secrets).
func (b *bench) startFakeSAP(_ context.Context, _ *report) error {
	f := &fakeSAP{program: &servertest.Program{}}
	err := f.program.Do(func() {
		ca := servertest.NewCA(f.program, pkix.Name{Organization: []string{"capstan bench"}, CommonName: "bench CA"})
		f.xsuaa = servertest.NewXSUAA(f.program, ca)
		f.xsuaa.AddClient(benchSaaSClientID, benchSaaSSecret)
		f.receiver = servertest.NewReceiver(f.program, ca)
		f.caFile = filepath.Join(b.env.Dir, "bench-ca.pem")
		if err := os.WriteFile(f.caFile, ca.PEM, 0o600); err != nil {
			f.program.Fatal(err)
		}
	})
	if err != nil {
		f.program.RunCleanups()
		return err
	}
	b.sap = f
	b.credentials = map[string]map[string]any{
		"xsuaa": {"clientid": "sb-" + benchXSAppName, "clientsecret": "uaa-secret", "xsappname": benchXSAppName,
			"url": f.xsuaa.URL, "uaadomain": "localhost", "tenantmode": "shared"},
		"saas-registry": {"clientid": benchSaaSClientID, "clientsecret": benchSaaSSecret, "url": f.xsuaa.URL, "uaadomain": "localhost",
			"saas_registry_url": f.receiver.URL, "xsappname": "cap-app-01!b1", "appUrls": `{"callbackTimeoutMillis":"600000"}`},
	}
	return nil
}

// serverLoad starts the subscription server binary with its default settings and sends
// -server-requests concurrent SaaS registry subscription requests with valid tokens. It
// measures how fast they are answered (429s are retried after 100 ms doubling up to 2 s), the
// server's memory, and that every asynchronous callback arrives exactly once once the
// tenants are Ready.
func (b *bench) serverLoad(ctx context.Context, r *report) error {
	defer b.sap.program.RunCleanups()
	ca, err := b.sme.SmeV1alpha1().CAPApplications(b.ns).Get(ctx, "cap-app-01", metav1.GetOptions{})
	if err != nil {
		return err
	}
	if err := b.poll(ctx, "the application's identifier label", func() (bool, string, error) {
		ca, err = b.sme.SmeV1alpha1().CAPApplications(b.ns).Get(ctx, "cap-app-01", metav1.GetOptions{})
		return err == nil && ca.Labels[v1alpha1.LabelAppIdentifierHash] != "", "", err
	}); err != nil {
		return err
	}
	srv, err := b.startServer(ctx)
	if err != nil {
		return err
	}
	defer srv.stop()
	n := b.cfg.serverRequests
	tokens := make([]string, n)
	if err := b.sap.program.Do(func() {
		for i := range tokens {
			tokens[i] = b.sap.xsuaa.Sign(b.sap.program, servertest.Claims(benchSaaSClientID, benchXSAppName), servertest.TokenOptions{})
		}
	}); err != nil {
		return err
	}
	res := &serverResult{Requests: n, Codes: map[int]int{}}
	r.Server = res
	sampler := measure.SampleRSS(func() int { return srv.cmd.Process.Pid })
	defer sampler.Stop()
	var prof *measure.Profiler
	if b.cfg.cpuProfileDir != "" {
		prof = measure.StartHTTPProfiler(srv.opsURL, filepath.Join(b.cfg.cpuProfileDir, "server-process.pprof"))
		defer func() { // merged after measuring: merging costs CPU
			measure.StopProfilers(prof)
			res.Profile = prof.Merge()
		}()
	}
	cpuStart, err := measure.ProcessCPU(srv.cmd.Process.Pid)
	if err != nil {
		return err
	}
	start := time.Now()
	latencies, err := b.subscribeAll(ctx, srv, ca, tokens, res)
	if err != nil {
		return err
	}
	if prof != nil {
		measure.StopProfilers(prof) // the profile covers answering the requests
	}
	res.AllAnswered = slices.Max(latencies)
	slices.Sort(latencies)
	res.P50, res.P99, res.Max = latencies[n/2], latencies[(n*99)/100], latencies[n-1]
	accepted := res.Codes[http.StatusAccepted]
	b.cfg.tenants = accepted // what waitTenants waits for
	if err := b.waitTenants(ctx, "Ready", func(t *v1alpha1.CAPTenant) bool { return t.Status.State == v1alpha1.CAPTenantStateReady }); err != nil {
		return err
	}
	res.Ready = time.Since(start)
	if err := b.poll(ctx, "every callback", func() (bool, string, error) {
		got := len(callbackCounts(b.sap.receiver.Callbacks()))
		return got >= accepted, fmt.Sprintf("%d/%d", got, accepted), nil
	}); err != nil {
		return err
	}
	res.Called = time.Since(start)
	cpuEnd, err := measure.ProcessCPU(srv.cmd.Process.Pid)
	if err != nil {
		return err
	}
	res.CPU = cpuEnd - cpuStart
	time.Sleep(settle) // a duplicate would come now
	res.PeakRSS = sampler.Stop()
	res.RSSAfter, err = measure.ProcessRSS(srv.cmd.Process.Pid)
	if err != nil {
		return err
	}
	counts := callbackCounts(b.sap.receiver.Callbacks())
	for i := range n {
		switch c := counts[callbackPath(i)]; {
		case c == 0:
			res.Missing++
		case c == 1:
			res.Once++
		default:
			res.Duplicated++
		}
	}
	for _, cb := range b.sap.receiver.Callbacks() {
		if cb.Body["status"] == "SUCCEEDED" {
			res.Succeeded++
		}
	}
	return nil
}

// subscribeAll sends the subscription requests at once, one goroutine each, retrying 429
// answers, and returns each request's time from its first attempt to its final answer. Only
// a request that got no answer at all is an error.
func (b *bench) subscribeAll(ctx context.Context, srv *serverProcess, ca *v1alpha1.CAPApplication, tokens []string, res *serverResult) ([]time.Duration, error) {
	n := len(tokens)
	client := &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: n}}
	latencies := make([]time.Duration, n)
	var mu sync.Mutex
	var wg sync.WaitGroup
	var firstErr error
	release := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-release
			began := time.Now()
			code, retried, err := srv.subscribe(ctx, client, ca, tokens[i], i)
			mu.Lock()
			defer mu.Unlock()
			latencies[i] = time.Since(began)
			res.TooMany += retried
			res.Codes[code]++
			if err != nil && firstErr == nil {
				firstErr = err
			}
		})
	}
	close(release)
	wg.Wait()
	return latencies, firstErr
}

// subscribe sends subscription request i until it is answered with something else than 429
// and returns the final status code and the number of 429 answers. A refusal is printed.
func (s *serverProcess) subscribe(ctx context.Context, client *http.Client, ca *v1alpha1.CAPApplication, token string, i int) (int, int, error) {
	id := fmt.Sprintf("bench-server-%05d", i)
	fields := map[string]any{
		"subscriptionGUID": "guid-" + id, "subscribedTenantId": id, "subscribedSubdomain": id,
		"globalAccountGUID": ca.Spec.GlobalAccountId, "subscriptionAppName": ca.Spec.BTPAppName, "eventType": "CREATE", "subscribedZoneId": id,
	}
	if ca.Spec.ProviderSubaccountId != "" {
		fields["providerSubaccountId"] = ca.Spec.ProviderSubaccountId
	}
	payload, err := json.Marshal(fields)
	if err != nil {
		return 0, 0, err
	}
	backoff := retryFirst
	for retried := 0; ; retried++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPut, s.apiURL+"/provision/tenants/"+id, bytes.NewReader(payload))
		if err != nil {
			return 0, retried, err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("STATUS_CALLBACK", callbackPath(i))
		resp, err := client.Do(req)
		if err != nil {
			return 0, retried, err
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusTooManyRequests:
			time.Sleep(backoff)
			backoff = min(2*backoff, retryMax)
			continue
		case http.StatusAccepted:
			return resp.StatusCode, retried, nil
		default:
			fmt.Printf("bench:   subscription %s answered %d: %s\n", id, resp.StatusCode, bytes.TrimSpace(body))
			return resp.StatusCode, retried, nil
		}
	}
}

// callbackPath is the STATUS_CALLBACK path of request i.
func callbackPath(i int) string { return fmt.Sprintf("%sbench-%05d", callbackPrefix, i) }

// callbackCounts counts the callbacks per path.
func callbackCounts(cbs []servertest.Callback) map[string]int {
	counts := map[string]int{}
	for _, cb := range cbs {
		counts[cb.Path]++
	}
	return counts
}

// serverProcess is the running subscription server binary.
type serverProcess struct {
	cmd    *exec.Cmd
	apiURL string
	// opsURL is the base URL of the server's metrics and profiling endpoint.
	opsURL string
}

// startServer builds the subscription server and runs it with its default settings (the
// chart's; -server-qps overrides its client rate limit), trusting the bench CA for its outgoing HTTPS, and waits until it is ready.
func (b *bench) startServer(ctx context.Context) (*serverProcess, error) {
	bin := filepath.Join(b.env.Dir, "server")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/server")
	build.Dir = b.env.RepoRoot
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("building the server: %v\n%s", err, out)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	metricsPort, err := freePort()
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(b.env.Dir, "server.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	s := &serverProcess{apiURL: fmt.Sprintf("http://127.0.0.1:%d", port), opsURL: fmt.Sprintf("http://127.0.0.1:%d", metricsPort)}
	args := []string{"--kubeconfig=" + b.env.KubeconfigPath}
	settings := "default settings"
	if b.cfg.cpuProfileDir != "" {
		args = append(args, "--profiling")
	}
	if q := b.cfg.serverQPS; q > 0 {
		args = append(args, fmt.Sprintf("--client-qps=%d", q), fmt.Sprintf("--client-burst=%d", 2*q))
		settings = fmt.Sprintf("--client-qps=%d --client-burst=%d, otherwise default settings", q, 2*q)
	}
	s.cmd = exec.Command(bin, args...)
	s.cmd.Env = append(os.Environ(), fmt.Sprintf("PORT=%d", port), fmt.Sprintf("METRICS_PORT=%d", metricsPort), "TLS_ENABLED=false",
		"SSL_CERT_FILE="+b.sap.caFile, "POD_NAME=bench-server")
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	fmt.Printf("bench: subscription server (%s) log %s\n", settings, logPath)
	client := &http.Client{Timeout: 2 * time.Second}
	err = b.poll(ctx, "the server ready", func() (bool, string, error) {
		resp, err := client.Get(s.apiURL + "/readyz")
		if err != nil {
			return false, "", err
		}
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK, resp.Status, nil
	})
	if err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

// stop ends the server.
func (s *serverProcess) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = s.cmd.Process.Kill()
	}
}

// printServer writes the server phase's results.
func (res *serverResult) print() {
	ok := "met"
	if res.Codes[http.StatusAccepted] != res.Requests || res.AllAnswered > acceptTarget {
		ok = "NOT met"
	}
	fmt.Printf("server: requests                %d concurrent SaaS registry subscriptions (PUT, valid tokens)\n", res.Requests)
	fmt.Printf("server: final answers           %v (429 answers retried: %d)\n", res.Codes, res.TooMany)
	fmt.Printf("server: all answered after      %s (target: all 202 within %s: %s)\n", res.AllAnswered.Round(10*time.Millisecond), acceptTarget, ok)
	fmt.Printf("server: latency per request     p50 %s, p99 %s, max %s\n", res.P50.Round(time.Millisecond), res.P99.Round(time.Millisecond), res.Max.Round(time.Millisecond))
	fmt.Printf("server: resident memory         peak %.1f MiB, %.1f MiB at the end\n", res.PeakRSS/(1<<20), res.RSSAfter/(1<<20))
	fmt.Printf("server: CPU of the server       %.1f s from the first request until every callback arrived (the other processes' below)\n", res.CPU)
	fmt.Printf("server: all tenants Ready after %s, all callbacks after %s\n", res.Ready.Round(100*time.Millisecond), res.Called.Round(100*time.Millisecond))
	fmt.Printf("server: callbacks per request   once %d, missing %d, more than once %d (SUCCEEDED %d)\n", res.Once, res.Missing, res.Duplicated, res.Succeeded)
	if res.Profile != "" {
		fmt.Printf("server: CPU profile             %s (while the requests were answered)\n", res.Profile)
	}
}
