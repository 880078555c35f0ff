package e2e

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/chromedp/chromedp"

	"github.com/ecsd/ecsd/internal/server"
)

// The web console (internal/console) in headless Chromium, driven by
// chromedp, against a real ecsd: the page reads and writes through the
// ECS API only, so everything it shows is checked against what the
// official client sees, and every action it takes is checked through the
// official client too. One browser serves every subtest; each opens its
// own tab.

var consoleScreenshots = flag.Bool("console-screenshots", false,
	"write screenshots of the web console's main pages into docs/console/ (go test ./internal/e2e -run TestConsole -console-screenshots)")

// xssImg and xssScript would each set window.__pwned if the page ever
// parsed a string from the API as HTML.
const (
	xssImg    = `<img src=x onerror="window.__pwned='img'">`
	xssScript = `<script>window.__pwned='script'</script>`
)

// chromiumPath finds Debian's chromium (or another Chrome) or skips; under
// CI=true a missing browser fails the test instead.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "no chromium in PATH (apt-get install chromium); the web console is not tested"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// newConsoleBrowser starts one headless Chromium for the test.
func newConsoleBrowser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.NoSandbox, // CI runs as root, where Chromium's sandbox refuses to start
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelBrowser(); cancelAlloc() })
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return bctx
}

// newConsoleTab opens a tab in browser, closed with the test, whose
// actions fail after three minutes rather than hang (each wait has its
// own, shorter deadline; this one bounds a subtest on a loaded machine).
func newConsoleTab(t *testing.T, browser context.Context) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser)
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancel() })
	return ctx
}

func pageDo(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatal(err)
	}
}

// pageEval evaluates a JavaScript expression in the tab.
func pageEval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// pageEvalAsync awaits a promise of a string.
func pageEvalAsync(t *testing.T, ctx context.Context, expr string) string {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

func pageSetValue(t *testing.T, ctx context.Context, sel, value string) {
	t.Helper()
	pageDo(t, ctx, chromedp.SetValue(chromedp.CSS(sel), value, chromedp.NodeVisible))
}

// pageOpen loads a console route in the tab and waits for its first render.
func pageOpen(t *testing.T, ctx context.Context, base, hash string) {
	t.Helper()
	pageDo(t, ctx, chromedp.Navigate(base+"/console/#/"+hash), chromedp.WaitReady(chromedp.CSS("body[data-loaded]")))
}

// pageText is the text of the first element sel matches ("" if none).
func pageText(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	return pageEval[string](t, ctx, fmt.Sprintf(`(() => { const e = document.querySelector(%q); return e ? e.textContent : ''; })()`, sel))
}

func pageCount(t *testing.T, ctx context.Context, sel string) int {
	t.Helper()
	return pageEval[int](t, ctx, fmt.Sprintf(`document.querySelectorAll(%q).length`, sel))
}

// pageWaitText waits until the text of sel contains want.
func pageWaitText(t *testing.T, ctx context.Context, sel, want string) {
	t.Helper()
	waitFor(t, 20*time.Second, fmt.Sprintf("%s to show %q", sel, want), func() error {
		if got := pageText(t, ctx, sel); !strings.Contains(got, want) {
			return fmt.Errorf("it shows %q (page errors: %q %q)", got, pageText(t, ctx, "#load-error"), pageText(t, ctx, "#action-error"))
		}
		return nil
	})
}

func pageWaitCount(t *testing.T, ctx context.Context, sel string, n int) {
	t.Helper()
	waitFor(t, 20*time.Second, fmt.Sprintf("%d of %s", n, sel), func() error {
		if got := pageCount(t, ctx, sel); got != n {
			return fmt.Errorf("%d of them", got)
		}
		return nil
	})
}

func pageClick(t *testing.T, ctx context.Context, sel string) {
	t.Helper()
	pageDo(t, ctx, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
}

// pagePwned is what the XSS payloads would have set.
func pagePwned(t *testing.T, ctx context.Context) string {
	t.Helper()
	return pageEval[string](t, ctx, `String(window.__pwned ?? '')`)
}

func pageScreenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if !*consoleScreenshots {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join("..", "..", "docs", "console")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// consoleFixture is the state the console suite looks at: a cluster with
// a service of two tasks, a standalone task, and a family whose revisions
// are in each status.
type consoleFixture struct {
	cluster, service, family string
	task                     string // the standalone task's ID
}

func setupConsole(t *testing.T, c *ecs.Client) consoleFixture {
	t.Helper()
	f := consoleFixture{cluster: "web", service: "front", family: "web-app"}
	svcCluster(t, c, f.cluster)
	rev := func(foo string, env ...types.KeyValuePair) {
		cd := container("app")
		cd.Environment = append([]types.KeyValuePair{{Name: aws.String("FOO"), Value: aws.String(foo)}}, env...)
		registerBridge(t, c, f.family, cd)
	}
	rev("one")                                                                             // 1: ACTIVE, deregistered from the page
	rev("two", types.KeyValuePair{Name: aws.String("PAYLOAD"), Value: aws.String(xssImg)}) // 2: ACTIVE, the service's
	rev("three")                                                                           // 3: DELETE_IN_PROGRESS
	rev("four")                                                                            // 4: INACTIVE
	deregister(t, c, f.family+":3")
	if _, err := c.DeleteTaskDefinitions(t.Context(), &ecs.DeleteTaskDefinitionsInput{TaskDefinitions: []string{f.family + ":3"}}); err != nil {
		t.Fatal(err)
	}
	deregister(t, c, f.family+":4")
	createService(t, c, &ecs.CreateServiceInput{Cluster: aws.String(f.cluster), ServiceName: aws.String(f.service),
		TaskDefinition: aws.String(f.family + ":2"), DesiredCount: aws.Int32(2)})
	task := runOne(t, c, &ecs.RunTaskInput{Cluster: aws.String(f.cluster), TaskDefinition: aws.String(f.family + ":2")})
	f.task = arnTail(aws.ToString(task.TaskArn))
	waitFor(t, 30*time.Second, "the service's two tasks running", func() error {
		s := describeService(t, c, f.cluster, f.service)
		if s.RunningCount != 2 {
			return fmt.Errorf("running %d", s.RunningCount)
		}
		return nil
	})
	return f
}

func arnTail(arn string) string { return arn[strings.LastIndex(arn, "/")+1:] }

// TestConsole drives the web console in headless Chromium.
func TestConsole(t *testing.T) {
	browser := newConsoleBrowser(t)
	e := startServer(t)
	c := e.defaultClient()
	f := setupConsole(t, c)
	base := e.URL()

	t.Run("pages", func(t *testing.T) {
		ctx := newConsoleTab(t, browser)
		pageOpen(t, ctx, base, "clusters")
		pageWaitText(t, ctx, `tr[data-cluster="web"]`, "ACTIVE")
		pageScreenshot(t, ctx, "clusters")

		pageOpen(t, ctx, base, "cluster/web")
		pageWaitText(t, ctx, `tr[data-service="front"] td.desired`, "2")
		pageWaitCount(t, ctx, `#tasks-table tbody tr`, 3)
		pageWaitCount(t, ctx, `#instances-table tbody tr`, 3) // the simulated container instances
		pageWaitText(t, ctx, `#tasks-table tr[data-task="`+f.task+`"]`, "RUNNING")
		pageScreenshot(t, ctx, "cluster")

		pageOpen(t, ctx, base, "service/web/front")
		pageWaitText(t, ctx, `#deployments-table tbody tr`, "PRIMARY")
		pageWaitText(t, ctx, `#deployments-table tbody tr`, "web-app:2")
		pageWaitText(t, ctx, `#events`, "has reached a steady state")
		pageWaitCount(t, ctx, `#service-tasks tbody tr`, 2)
		pageScreenshot(t, ctx, "service")

		pageOpen(t, ctx, base, "task/web/"+f.task)
		pageWaitText(t, ctx, `#containers-table tr[data-container="app"]`, "busybox:1.36")
		pageWaitText(t, ctx, `#task-last-status`, "RUNNING")
		pageScreenshot(t, ctx, "task")

		pageOpen(t, ctx, base, "taskdefs")
		pageWaitText(t, ctx, `tr[data-family="web-app"]`, "web-app")

		pageOpen(t, ctx, base, "family/web-app")
		for rev, status := range map[string]string{"1": "ACTIVE", "2": "ACTIVE", "3": "DELETE_IN_PROGRESS", "4": "INACTIVE"} {
			pageWaitText(t, ctx, `tr[data-revision="`+rev+`"] .revision-status`, status)
		}
		if n := pageCount(t, ctx, `button.deregister`); n != 2 {
			t.Errorf("%d deregister buttons, want one for each ACTIVE revision (2)", n)
		}
		pageScreenshot(t, ctx, "family")

		pageOpen(t, ctx, base, "diff/web-app:1/web-app:2")
		row := `tr[data-path="containerDefinitions[app].environment[FOO].value"]`
		pageWaitText(t, ctx, row+" .old", `"one"`)
		pageWaitText(t, ctx, row+" .new", `"two"`)
		pageWaitText(t, ctx, `tr[data-path="containerDefinitions[app].environment[PAYLOAD].value"]`, "added")
		if n := pageCount(t, ctx, `#diff-table tbody tr`); n != 3 { // FOO changed, PAYLOAD's name and value added
			t.Errorf("diff has %d rows, want 3:\n%s", n, pageText(t, ctx, "#diff-table"))
		}
		pageScreenshot(t, ctx, "diff")
	})

	t.Run("live", func(t *testing.T) {
		ctx := newConsoleTab(t, browser)
		pageOpen(t, ctx, base, "service/web/front")
		pageWaitText(t, ctx, "#service-desired", "2")
		// A mark in the page's globals: gone if the page reloads.
		pageEval[string](t, ctx, `window.__sameDocument = 'yes'`)
		if _, err := c.UpdateService(t.Context(), &ecs.UpdateServiceInput{Cluster: aws.String("web"), Service: aws.String("front"), DesiredCount: aws.Int32(3)}); err != nil {
			t.Fatal(err)
		}
		pageWaitText(t, ctx, "#service-desired", "3")
		pageWaitText(t, ctx, "#service-running", "3")
		pageWaitCount(t, ctx, `#service-tasks tbody tr`, 3)
		// The event stream too: the newest event names the task started.
		var started string
		waitFor(t, 20*time.Second, "the scheduler's event", func() error {
			for _, ev := range describeService(t, c, "web", "front").Events {
				if m := aws.ToString(ev.Message); strings.Contains(m, "has started 1 tasks") {
					started = m
					return nil
				}
			}
			return errors.New("no event names the started task")
		})
		pageWaitText(t, ctx, "#events", started)
		if mark := pageEval[string](t, ctx, `String(window.__sameDocument)`); mark != "yes" {
			t.Errorf("the page reloaded to show the update")
		}
	})

	t.Run("actions", func(t *testing.T) {
		ctx := newConsoleTab(t, browser)
		pageOpen(t, ctx, base, "service/web/front")
		pageWaitText(t, ctx, "#deployments-table", "PRIMARY")
		before := describeService(t, c, "web", "front")

		// Scale.
		pageSetValue(t, ctx, "#scale-count", "1")
		pageClick(t, ctx, "#scale")
		waitFor(t, 20*time.Second, "desiredCount 1", func() error {
			if s := describeService(t, c, "web", "front"); s.DesiredCount != 1 {
				return fmt.Errorf("desiredCount %d", s.DesiredCount)
			}
			return nil
		})
		pageWaitText(t, ctx, "#action-done", "Desired count of front set to 1")

		// A refused call shows AWS's own error, as the SDK hears it.
		_, sdkErr := c.UpdateService(t.Context(), &ecs.UpdateServiceInput{Cluster: aws.String("web"), Service: aws.String("front"), DesiredCount: aws.Int32(-1)})
		var apiErr interface {
			ErrorCode() string
			ErrorMessage() string
		}
		if !errors.As(sdkErr, &apiErr) {
			t.Fatalf("UpdateService desiredCount -1: %v, want an API error", sdkErr)
		}
		pageSetValue(t, ctx, "#scale-count", "-1")
		pageClick(t, ctx, "#scale")
		pageWaitText(t, ctx, "#action-error", apiErr.ErrorCode()+": "+apiErr.ErrorMessage())

		// Force a new deployment.
		pageClick(t, ctx, "#force-deployment")
		waitFor(t, 20*time.Second, "a new deployment", func() error {
			s := describeService(t, c, "web", "front")
			for _, d := range s.Deployments {
				if aws.ToString(d.Status) == "PRIMARY" && aws.ToString(d.Id) != aws.ToString(before.Deployments[0].Id) {
					return nil
				}
			}
			return fmt.Errorf("deployments %v", s.Deployments)
		})
		pageWaitCount(t, ctx, `#deployments-table tbody tr`, 2) // and the page shows it live

		// Stop the standalone task.
		pageOpen(t, ctx, base, "task/web/"+f.task)
		pageWaitText(t, ctx, "#task-desired-status", "RUNNING")
		pageClick(t, ctx, "#stop-task")
		waitFor(t, 20*time.Second, "the task stopping", func() error {
			tk := describeTasks(t, c, "web", f.task)[0]
			if aws.ToString(tk.DesiredStatus) != "STOPPED" || aws.ToString(tk.StoppedReason) != "Stopped from the ecsd console" {
				return fmt.Errorf("desired %s, reason %q", aws.ToString(tk.DesiredStatus), aws.ToString(tk.StoppedReason))
			}
			return nil
		})
		pageWaitText(t, ctx, "#task-last-status", "STOPPED")
		pageWaitText(t, ctx, `#containers-table tr[data-container="app"] .exit-code`, "")

		// Deregister revision 1.
		pageOpen(t, ctx, base, "family/web-app")
		pageClick(t, ctx, `button.deregister[data-revision="1"]`)
		waitFor(t, 20*time.Second, "web-app:1 INACTIVE", func() error {
			out, err := c.DescribeTaskDefinition(t.Context(), &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("web-app:1")})
			if err != nil {
				return err
			}
			if out.TaskDefinition.Status != types.TaskDefinitionStatusInactive {
				return fmt.Errorf("status %s", out.TaskDefinition.Status)
			}
			return nil
		})
		pageWaitText(t, ctx, `tr[data-revision="1"] .revision-status`, "INACTIVE")
	})

	t.Run("escaping", func(t *testing.T) {
		ctx := newConsoleTab(t, browser)
		// An environment value, shown on the revision's page and in its JSON.
		pageOpen(t, ctx, base, "taskdef/web-app:2")
		pageWaitText(t, ctx, `tr.env[data-name="PAYLOAD"] .env-value`, xssImg)
		pageWaitText(t, ctx, "#taskdef-json", `onerror=\"window.__pwned='img'\"`)
		// A stop reason is anyone's text too.
		tk := runOne(t, c, &ecs.RunTaskInput{Cluster: aws.String("web"), TaskDefinition: aws.String("web-app:2")})
		id := arnTail(aws.ToString(tk.TaskArn))
		if _, err := c.StopTask(t.Context(), &ecs.StopTaskInput{Cluster: aws.String("web"), Task: aws.String(id), Reason: aws.String(xssScript + xssImg)}); err != nil {
			t.Fatal(err)
		}
		pageOpen(t, ctx, base, "task/web/"+id)
		pageWaitText(t, ctx, "#task-stopped-reason", xssScript+xssImg)
		pageOpen(t, ctx, base, "cluster/web")
		pageWaitText(t, ctx, `tr[data-task="`+id+`"] .stopped-reason`, xssScript+xssImg)
		if got := pagePwned(t, ctx); got != "" {
			t.Errorf("a payload ran: window.__pwned = %q", got)
		}
		if n := pageCount(t, ctx, `main img, main script`); n != 0 {
			t.Errorf("%d img/script elements in the page, want the payloads as text only", n)
		}
	})

	// Log lines are anyone's text: a container prints the payloads (the
	// tiny program's error names the file it could not create) and the
	// page shows them as text. Only the Docker runtime keeps output today.
	t.Run("logs", func(t *testing.T) {
		ed, _ := dockerServer(t, "")
		dc := ed.defaultClient()
		registerTD(t, dc, &ecs.RegisterTaskDefinitionInput{Family: aws.String("noisy"), ContainerDefinitions: []types.ContainerDefinition{
			tinyContainer("app", true, "run"),
			tinyContainer("noisy", false, "touch", "/nonexistent/"+xssScript+xssImg, "0"),
		}})
		tk := runOne(t, dc, &ecs.RunTaskInput{TaskDefinition: aws.String("noisy")})
		id := arnTail(aws.ToString(tk.TaskArn))
		waitTask(t, dc, aws.ToString(tk.TaskArn), "noisy exited", func(t types.Task) bool {
			return containerNamed(t, "noisy").ExitCode != nil && isRunning(t)
		})
		ctx := newConsoleTab(t, browser)
		pageOpen(t, ctx, ed.URL(), "task/default/"+id)
		pageWaitText(t, ctx, `#containers-table tr[data-container="noisy"] .exit-code`, "2")
		pageClick(t, ctx, `button.show-logs[data-container="noisy"]`)
		pageWaitText(t, ctx, "#logs-noisy", "open /nonexistent/"+xssScript+xssImg+": no such file or directory")
		pageScreenshot(t, ctx, "task-logs")
		if got := pagePwned(t, ctx); got != "" {
			t.Errorf("a payload ran: window.__pwned = %q", got)
		}
		if n := pageCount(t, ctx, `main img, main script`); n != 0 {
			t.Errorf("%d img/script elements in the page, want the log line as text only", n)
		}
		pageClick(t, ctx, `button.show-logs[data-container="app"]`)
		pageWaitText(t, ctx, "#logs-app", "No output.")
	})

	// Once a stopped task's containers are removed, its output is read
	// from what ecsd kept, as `ecsd logs` reads it.
	t.Run("kept logs", func(t *testing.T) {
		ed, _ := dockerServer(t, "", func(c *server.Config) { c.KeepStoppedContainers = -1 })
		dc := ed.defaultClient()
		registerTD(t, dc, &ecs.RegisterTaskDefinitionInput{Family: aws.String("gone"), ContainerDefinitions: []types.ContainerDefinition{
			tinyContainer("noisy", true, "touch", "/nonexistent/"+xssScript, "0"),
		}})
		tk := runOne(t, dc, &ecs.RunTaskInput{TaskDefinition: aws.String("gone")})
		id := arnTail(aws.ToString(tk.TaskArn))
		waitTask(t, dc, aws.ToString(tk.TaskArn), "stopped", stopped)
		waitFor(t, 30*time.Second, "the task's containers removed", func() error {
			if n := len(scopedContainers(t, dockerEnv.cli, ed.cfg.DataDir)); n != 0 {
				return fmt.Errorf("%d containers left", n)
			}
			return nil
		})
		ctx := newConsoleTab(t, browser)
		pageOpen(t, ctx, ed.URL(), "task/default/"+id)
		pageClick(t, ctx, `button.show-logs[data-container="noisy"]`)
		pageWaitText(t, ctx, "#logs-noisy", "open /nonexistent/"+xssScript+": no such file or directory")
		if got := pagePwned(t, ctx); got != "" {
			t.Errorf("a payload ran: window.__pwned = %q", got)
		}
	})

	t.Run("sigv4", func(t *testing.T) {
		es := startServer(t, withSigV4(writeCredentials(t, sigv4Credentials)))
		sc := es.signingClient("AKIDE2EDEFAULT", "e2e-default-secret", "", 0)
		svcCluster(t, sc, "signed")
		register(t, sc, "signed-app")
		tk := runOne(t, sc, &ecs.RunTaskInput{Cluster: aws.String("signed"), TaskDefinition: aws.String("signed-app")})

		// The logs endpoint wants a signature like the API's.
		resp, body := es.post(t, "", "")
		_ = resp
		_ = body
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, es.URL()+"/console/logs",
			strings.NewReader(`{"taskId":"`+arnTail(aws.ToString(tk.TaskArn))+`","container":"app"}`))
		lresp, lbody := do(t, req)
		if lresp.StatusCode != http.StatusBadRequest || !strings.Contains(string(lbody), "MissingAuthenticationTokenException") {
			t.Errorf("unsigned POST /console/logs: %d %s, want MissingAuthenticationTokenException", lresp.StatusCode, lbody)
		}

		ctx := newConsoleTab(t, browser)
		pageOpen(t, ctx, es.URL(), "clusters")
		pageWaitText(t, ctx, "#auth-error", "MissingAuthenticationTokenException: Missing Authentication Token")
		if n := pageCount(t, ctx, "#clusters-table"); n != 0 {
			t.Errorf("clusters shown without credentials")
		}
		pageScreenshot(t, ctx, "signin")

		signIn := func(key, secret string) {
			pageDo(t, ctx,
				chromedp.SetValue(chromedp.CSS("#signin-key"), key),
				chromedp.SetValue(chromedp.CSS("#signin-secret"), secret),
				chromedp.SetValue(chromedp.CSS("#signin-region"), "eu-west-1"))
			pageClick(t, ctx, "#signin-submit")
		}
		signIn("AKIDE2EDEFAULT", "not-the-secret")
		pageWaitText(t, ctx, "#auth-error", "InvalidSignatureException: The request signature we calculated does not match")

		signIn("AKIDE2EDEFAULT", "e2e-default-secret")
		pageWaitText(t, ctx, "#identity", "Signed as AKIDE2EDEFAULT in eu-west-1")
		// The region comes from the signature's scope: eu-west-1 has no
		// clusters yet.
		pageWaitText(t, ctx, "#clusters", "No clusters.")
		pageClick(t, ctx, "#signout")
		pageWaitText(t, ctx, "#auth-error", "MissingAuthenticationTokenException")
		signInUS := func() {
			pageDo(t, ctx,
				chromedp.SetValue(chromedp.CSS("#signin-key"), "AKIDE2EDEFAULT"),
				chromedp.SetValue(chromedp.CSS("#signin-secret"), "e2e-default-secret"),
				chromedp.SetValue(chromedp.CSS("#signin-region"), "us-east-1"))
			pageClick(t, ctx, "#signin-submit")
		}
		signInUS()
		pageWaitText(t, ctx, `tr[data-cluster="signed"]`, "ACTIVE")
		if keys := pageEval[string](t, ctx, `Object.keys(sessionStorage).join(",")`); keys != "ecsd-console-credentials" {
			t.Errorf("sessionStorage holds %q, want the credentials only", keys)
		}
		if stored := pageEval[string](t, ctx, `String(localStorage.length)`); stored != "0" {
			t.Errorf("localStorage holds %s items, want none: keys stay in this tab", stored)
		}

		// Temporary credentials: the session token is signed and sent.
		pageClick(t, ctx, "#signout")
		pageWaitText(t, ctx, "#auth-error", "MissingAuthenticationTokenException")
		pageDo(t, ctx,
			chromedp.SetValue(chromedp.CSS("#signin-key"), "ASIAE2ETEMP"),
			chromedp.SetValue(chromedp.CSS("#signin-secret"), "e2e-temp-secret"),
			chromedp.SetValue(chromedp.CSS("#signin-token"), "IQoJb3JpZ2luX2VjEXAMPLE/e2e+token=="))
		pageClick(t, ctx, "#signin-submit")
		pageWaitText(t, ctx, `tr[data-cluster="signed"]`, "ACTIVE")
		pageClick(t, ctx, "#signout")
		pageWaitText(t, ctx, "#auth-error", "MissingAuthenticationTokenException")
		signInUS()
		pageWaitText(t, ctx, `tr[data-cluster="signed"]`, "ACTIVE")

		// Outside a secure context (plain http on a LAN address) browsers
		// have no crypto.subtle; the page signs with its own SHA-256.
		nocrypto := newConsoleTab(t, browser)
		pageOpen(t, nocrypto, es.URL(), "signin")
		pageEval[bool](t, nocrypto, `(Object.defineProperty(window.crypto, 'subtle', {get: () => undefined, configurable: true}), sessionStorage.clear(), crypto.subtle === undefined)`)
		for _, n := range []int{0, 1, 55, 56, 63, 64, 65, 119, 120, 1000} {
			in := strings.Repeat("é", n/2) + strings.Repeat("a", n%2) // 2-byte runes: block edges in bytes
			sum := sha256.Sum256([]byte(in))
			if got := pageEvalAsync(t, nocrypto, fmt.Sprintf(`SigV4.sha256Hex(%q)`, in)); got != hex.EncodeToString(sum[:]) {
				t.Errorf("sha256 of %d bytes = %s, want %x", len(in), got, sum)
			}
			key := strings.Repeat("k", n) // keys longer than a block are hashed first
			mac := hmac.New(sha256.New, []byte(key))
			mac.Write([]byte(in))
			if got := pageEvalAsync(t, nocrypto, fmt.Sprintf(`SigV4.hmacHex(%q, %q)`, key, in)); got != hex.EncodeToString(mac.Sum(nil)) {
				t.Errorf("hmac with a %d-byte key = %s, want %x", len(key), got, mac.Sum(nil))
			}
		}
		pageDo(t, nocrypto,
			chromedp.SetValue(chromedp.CSS("#signin-key"), "AKIDE2EDEFAULT"),
			chromedp.SetValue(chromedp.CSS("#signin-secret"), "e2e-default-secret"))
		pageClick(t, nocrypto, "#signin-submit")
		pageWaitText(t, nocrypto, `tr[data-cluster="signed"]`, "ACTIVE")

		// Signed through to the runtime: the simulated container was given
		// no ECSD_SIM_LOG, so it wrote nothing.
		pageOpen(t, ctx, es.URL(), "task/signed/"+arnTail(aws.ToString(tk.TaskArn)))
		pageClick(t, ctx, `button.show-logs[data-container="app"]`)
		pageWaitText(t, ctx, "#logs-app", "No output.")
	})
}
