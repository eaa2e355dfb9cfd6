package serve

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"image"
	"image/png"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestOverloadRejectsQuickly sends a burst of 300 concurrent requests at a queue of 4. Everything must be
// answered 200 or 429, and a 429 must come without waiting for compute: the server's median time for a 429
// (handler entry to reply) must be below its median time for a 200 in the same burst. Absolute times are
// only logged: on a shared 2-core machine they follow the other tenants' load (a 429 p99 of 1 ms in one
// run, 150 ms in the next), which no server code can avoid. The burst is tried up to three times: while go test runs other
// packages beside this one, a burst's refusals can be descheduled for milliseconds (a 429 median of 18 ms against
// 0.2 ms for a 200, seen once in CI; 10–20 µs alone), where a server that made refusals wait for compute would
// fail every try.
func TestOverloadRejectsQuickly(t *testing.T) {
	s := New(Options{})
	if err := s.Load("mnist", mnistFile(t, t.TempDir()), Config{MaxQueueSize: 4, Instances: 1, Threads: 1}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var server429, server200, client429 []time.Duration
	h := s.Handler()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(sw, r)
		d := time.Since(start)
		mu.Lock()
		switch sw.status {
		case http.StatusTooManyRequests:
			server429 = append(server429, d)
		case http.StatusOK:
			server200 = append(server200, d)
		}
		mu.Unlock()
	}))
	t.Cleanup(func() {
		hs.Close()
		s.Close()
	})
	digits, _ := mnistDigits(t, 1)
	body := jsonInfer(digits[0])
	const burst = 300
	var ok, rejected, other atomic.Int64
	for try := 1; ; try++ {
		mu.Lock()
		server429, server200, client429 = nil, nil, nil
		mu.Unlock()
		rejected.Store(0)
		overloadBurst(hs.URL, body, burst, &mu, &client429, &ok, &rejected, &other)
		sp99, cp99 := p99(server429), p99(client429)
		s429, s200 := median(server429), median(server200)
		t.Logf("burst %d: %d ok so far, %d rejected (429 p99: server %v, client %v; server medians: 429 %v, 200 %v), %d other",
			burst, ok.Load(), rejected.Load(), sp99, cp99, s429, s200, other.Load())
		if other.Load() != 0 {
			t.Fatalf("%d requests neither succeeded nor got 429", other.Load())
		}
		if rejected.Load() == 0 {
			t.Fatal("a burst of 300 against max_queue_size 4 got no 429")
		}
		if s429 < s200 {
			break
		}
		if try == 3 {
			t.Fatalf("server median: 429 %v, 200 %v: a refusal took as long as a served request, in three bursts", s429, s200)
		}
	}
	m, _ := s.Model("mnist", "")
	if st := m.stats.statistics("mnist", "1"); st.InferenceStats.Success.Count != ok.Load() {
		t.Fatalf("server counted %d successes, clients saw %d", st.InferenceStats.Success.Count, ok.Load())
	}
}

// overloadBurst sends burst concurrent inference requests to url and counts the replies (200 into ok, 429 into
// rejected, anything else into other), appending each 429's time from request written to first reply byte to
// client429 under mu.
func overloadBurst(url string, body []byte, burst int, mu *sync.Mutex, client429 *[]time.Duration, ok, rejected, other *atomic.Int64) {
	var wg sync.WaitGroup
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: burst}}
	for i := 0; i < burst; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// From the request being written to the first reply byte: leaves out the client's own dialing.
			var wrote, first time.Time
			trace := &httptrace.ClientTrace{
				WroteRequest:         func(httptrace.WroteRequestInfo) { wrote = time.Now() },
				GotFirstResponseByte: func() { first = time.Now() },
			}
			req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), "POST",
				url+"/v2/models/mnist/infer", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			resp, err := client.Do(req)
			if err != nil {
				other.Add(1)
				return
			}
			resp.Body.Close()
			switch resp.StatusCode {
			case 200:
				ok.Add(1)
			case 429:
				rejected.Add(1)
				mu.Lock()
				*client429 = append(*client429, first.Sub(wrote))
				mu.Unlock()
			default:
				other.Add(1)
			}
		}()
	}
	wg.Wait()
}

func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	d = slices.Clone(d)
	slices.Sort(d)
	return d[len(d)/2]
}

func p99(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	d = slices.Clone(d)
	slices.Sort(d)
	return d[min(len(d)-1, len(d)*99/100)]
}

// TestShutdownUnderLoadLosesNothing shuts the server down while 32 clients hammer it: every request the
// server accepted must have been answered with 200, which the server's own counters and the clients' tallies
// must agree on.
func TestShutdownUnderLoadLosesNothing(t *testing.T) {
	s := New(Options{})
	if err := s.Load("mnist", mnistFile(t, t.TempDir()), Config{MaxBatchSize: 8, MaxQueueDelay: Duration(2 * time.Millisecond), MaxQueueSize: 4096}); err != nil {
		t.Fatal(err)
	}
	m, _ := s.Model("mnist", "")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx, ln, nil, 30*time.Second) }()
	digits, _ := mnistDigits(t, 1)
	body := jsonInfer(digits[0])
	url := "http://" + ln.Addr().String() + "/v2/models/mnist/infer"
	var got200, got503, transport, other atomic.Int64
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for i := 0; i < 32; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := http.Post(url, "application/json", bytes.NewReader(body))
				if err != nil {
					transport.Add(1) // connection refused or closed before the server read the request
					continue
				}
				resp.Body.Close()
				switch resp.StatusCode {
				case 200:
					got200.Add(1)
				case 503:
					got503.Add(1)
				default:
					other.Add(1)
				}
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	close(stop)
	wg.Wait()
	st := m.stats.statistics("mnist", "1")
	t.Logf("200: %d, 503: %d, transport errors: %d; server: %d succeeded, %d failed", got200.Load(), got503.Load(), transport.Load(), st.InferenceStats.Success.Count, st.InferenceStats.Fail.Count)
	if got200.Load() == 0 {
		t.Fatal("no request succeeded before shutdown")
	}
	if other.Load() != 0 || st.InferenceStats.Fail.Count != 0 {
		t.Fatalf("%d unexpected statuses, %d accepted requests failed", other.Load(), st.InferenceStats.Fail.Count)
	}
	if st.InferenceStats.Success.Count != got200.Load() {
		t.Fatalf("server answered %d requests but clients received %d", st.InferenceStats.Success.Count, got200.Load())
	}
}

func TestRepositoryLoadUnloadReload(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "digits"), 0o755); err != nil {
		t.Fatal(err)
	}
	mnistFile(t, filepath.Join(dir, "digits"))
	os.Rename(filepath.Join(dir, "digits", "mnist.onnx"), filepath.Join(dir, "digits", "model.onnx"))
	os.WriteFile(filepath.Join(dir, "digits", "config.yaml"), []byte("max_batch_size: 4\nversion: \"3\"\n"), 0o644)
	s := New(Options{Repository: dir})
	defer s.Close()
	if err := s.SyncRepository(); err != nil {
		t.Fatal(err)
	}
	hs := serveHTTP(t, s)
	if resp, b := do(t, "GET", hs+"/v2/models/digits/versions/3", nil, nil); resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	// A config change is picked up by the next sync (what polling does), as a reload.
	os.WriteFile(filepath.Join(dir, "digits", "config.yaml"), []byte("max_batch_size: 2\nversion: \"4\"\n"), 0o644)
	future := time.Now().Add(time.Second)
	os.Chtimes(filepath.Join(dir, "digits", "config.yaml"), future, future)
	if err := s.SyncRepository(); err != nil {
		t.Fatal(err)
	}
	if m, err := s.Model("digits", "4"); err != nil || m.Config.MaxBatchSize != 2 {
		t.Fatalf("after config change: %v %v", m, err)
	}
	// Explicit API: unload, then load again.
	if resp, b := do(t, "POST", hs+"/v2/repository/models/digits/unload", nil, nil); resp.StatusCode != 200 {
		t.Fatalf("unload: %d %s", resp.StatusCode, b)
	}
	if resp, _ := do(t, "GET", hs+"/v2/models/digits", nil, nil); resp.StatusCode != 404 {
		t.Fatalf("unloaded model answers %d", resp.StatusCode)
	}
	var idx []repoIndexEntry
	_, b := do(t, "POST", hs+"/v2/repository/index", nil, nil)
	if json.Unmarshal(b, &idx); len(idx) != 1 || idx[0].State != "UNAVAILABLE" {
		t.Fatalf("index: %s", b)
	}
	if resp, b := do(t, "POST", hs+"/v2/repository/models/digits/load", nil, nil); resp.StatusCode != 200 {
		t.Fatalf("load: %d %s", resp.StatusCode, b)
	}
	if resp, _ := do(t, "POST", hs+"/v2/repository/models/ghost/load", nil, nil); resp.StatusCode != 404 {
		t.Fatalf("load of a missing model: %d", resp.StatusCode)
	}
	// A bad config is refused with the old model still serving.
	os.WriteFile(filepath.Join(dir, "digits", "config.yaml"), []byte("max_batch_size: [\n"), 0o644)
	if resp, _ := do(t, "POST", hs+"/v2/repository/models/digits/load", nil, nil); resp.StatusCode != 400 {
		t.Fatalf("load with a broken config: %d", resp.StatusCode)
	}
	if _, err := s.Model("digits", ""); err != nil {
		t.Fatal("a failed reload removed the serving model")
	}
	// Removing the files unloads the model on the next sync.
	os.RemoveAll(filepath.Join(dir, "digits"))
	s.SyncRepository()
	if _, err := s.Model("digits", ""); err == nil {
		t.Fatal("model still served after its files were removed")
	}
}

func serveHTTP(t *testing.T, s *Server) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: s.Handler()}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	return "http://" + ln.Addr().String()
}

// TestPredictMNIST sends held-out digits as PNG files through /predict: the preprocessing (grey, 28×28,
// scale 1/255, NCHW) reproduces the model's own input exactly, so the answer must be the runtime's argmax and
// softmax of its logits.
func TestPredictMNIST(t *testing.T) {
	cfg := Config{MaxBatchSize: 4, Predict: &PredictConfig{Width: 28, Height: 28, Channels: 1, Softmax: true,
		Labels: []string{"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"}}}
	_, hs := newTestServer(t, cfg, Options{})
	digits, _ := mnistDigits(t, 8)
	ref := referenceLogits(t, digits)
	for i, d := range digits {
		img := image.NewGray(image.Rect(0, 0, 28, 28))
		for j, v := range d.F32() {
			img.Pix[j] = uint8(v*255 + 0.5)
		}
		var buf bytes.Buffer
		png.Encode(&buf, img)
		req, _ := json.Marshal(PredictRequest{Image: base64.StdEncoding.EncodeToString(buf.Bytes()), TopK: 3})
		resp, body := do(t, "POST", hs.URL+"/predict", req, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		var pr PredictResponse
		if err := json.Unmarshal(body, &pr); err != nil {
			t.Fatal(err)
		}
		probs := append([]float32(nil), ref[i]...)
		softmax(probs)
		best := 0
		for j := range probs {
			if probs[j] > probs[best] {
				best = j
			}
		}
		if len(pr.Predictions) != 3 || pr.Predictions[0].Index != best || pr.Predictions[0].Class != cfg.Predict.Labels[best] {
			t.Fatalf("digit %d: %s, want class %d", i, body, best)
		}
		if d := pr.Predictions[0].Confidence - probs[best]; d > 1e-4 || d < -1e-4 {
			t.Errorf("digit %d: confidence %v, softmax of the runtime's logits %v", i, pr.Predictions[0].Confidence, probs[best])
		}
		if pr.Predictions[1].Confidence > pr.Predictions[0].Confidence {
			t.Errorf("top-k not sorted: %s", body)
		}
	}
	for name, body := range map[string]string{
		"not base64": `{"image":"%%%"}`,
		"not image":  `{"image":"` + base64.StdEncoding.EncodeToString([]byte("hello")) + `"}`,
		"not json":   `{`,
	} {
		if resp, b := do(t, "POST", hs.URL+"/predict", []byte(body), nil); resp.StatusCode != 400 {
			t.Errorf("%s: %d %s", name, resp.StatusCode, b)
		}
	}
}
