package onvif

import (
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func evServer(t *testing.T) (*Server, *clock) {
	clk := &clock{t: testNow}
	o := testOptions()
	o.Now = clk.now
	return newServer(t, o), clk
}

// zeepEvents is a body as zeep sends it (ns0 prefixes).
func zeepEvents(ns, op, inner string) string {
	return `<?xml version='1.0' encoding='utf-8'?>
<soap-env:Envelope xmlns:soap-env="http://www.w3.org/2003/05/soap-envelope"><soap-env:Body><ns0:` + op +
		` xmlns:ns0="` + ns + `">` + inner + `</ns0:` + op + `></soap-env:Body></soap-env:Envelope>`
}

// create makes a pull point and returns the path of its address.
func create(t *testing.T, s *Server, inner string) (string, result) {
	t.Helper()
	r := do(t, s, EventsPath, zeepEvents(NSEvents, "CreatePullPointSubscription", inner))
	if r.code != 200 || r.root.XMLName != xmlName(NSEvents, "CreatePullPointSubscriptionResponse") {
		t.Fatalf("CreatePullPointSubscription: %d\n%s", r.code, r.body)
	}
	addr := r.root.child(NSEvents, "SubscriptionReference").child(NSWSA, "Address").text()
	u, err := url.Parse(addr)
	if err != nil || u.Host != "192.0.2.10:8080" || u.Path != EventsPath || u.Query().Get("sub") == "" {
		t.Fatalf("address %q", addr)
	}
	return u.RequestURI(), r
}

type msg struct{ topic, op, source, state string }

func pull(t *testing.T, s *Server, path, timeout string, limit int) (result, []msg) {
	t.Helper()
	r := do(t, s, path, zeepEvents(NSEvents, "PullMessages",
		`<ns0:Timeout>`+timeout+`</ns0:Timeout><ns0:MessageLimit>`+itoa(limit)+`</ns0:MessageLimit>`))
	if r.code != 200 {
		return r, nil
	}
	if r.root.XMLName != xmlName(NSEvents, "PullMessagesResponse") || r.root.child(NSEvents, "CurrentTime") == nil || r.root.child(NSEvents, "TerminationTime") == nil {
		t.Fatalf("PullMessages:\n%s", r.body)
	}
	var out []msg
	for i := range r.root.Nodes {
		n := &r.root.Nodes[i]
		if n.XMLName != xmlName(NSWSNT, "NotificationMessage") {
			continue
		}
		tp := n.child(NSWSNT, "Topic")
		if tp.attr("Dialect") != topicDialect {
			t.Errorf("dialect %q", tp.attr("Dialect"))
		}
		m := n.child(NSWSNT, "Message").child(NSSchema, "Message")
		if _, err := time.Parse(time.RFC3339, m.attr("UtcTime")); err != nil {
			t.Errorf("UtcTime %q", m.attr("UtcTime"))
		}
		src := m.child(NSSchema, "Source").child(NSSchema, "SimpleItem")
		dat := m.child(NSSchema, "Data").child(NSSchema, "SimpleItem")
		if src.attr("Name") != "VideoSourceToken" || dat.attr("Name") != "State" {
			t.Errorf("items %v %v", src, dat)
		}
		out = append(out, msg{tp.text(), m.attr("PropertyOperation"), src.attr("Value"), dat.attr("Value")})
	}
	return r, out
}

func TestEventsPullPoint(t *testing.T) {
	s, clk := evServer(t)
	path, r := create(t, s, `<ns0:InitialTerminationTime>PT10S</ns0:InitialTerminationTime>`)
	if got := r.root.child(NSWSNT, "TerminationTime").text(); got != "2026-11-25T12:00:10Z" {
		t.Errorf("TerminationTime %q", got)
	}
	if got := r.root.child(NSWSNT, "CurrentTime").text(); got != "2026-11-25T12:00:00Z" {
		t.Errorf("CurrentTime %q", got)
	}
	// Initial states, one message at a time.
	_, ms := pull(t, s, path, "PT1S", 1)
	if len(ms) != 1 || ms[0] != (msg{TopicMotionAlarm, "Initialized", "VideoSource_1", "false"}) {
		t.Fatalf("first pull %v", ms)
	}
	_, ms = pull(t, s, path, "PT1S", 10)
	if len(ms) != 1 || ms[0] != (msg{TopicImageTooDark, "Initialized", "VideoSource_1", "false"}) {
		t.Fatalf("second pull %v", ms)
	}
	// A blocked pull returns early with a published event.
	go func() {
		time.Sleep(100 * time.Millisecond)
		s.PublishMotion(true)
	}()
	start := time.Now()
	_, ms = pull(t, s, path, "PT30S", 10)
	if el := time.Since(start); el > 10*time.Second || el < 50*time.Millisecond {
		t.Errorf("blocked pull took %v", el)
	}
	if len(ms) != 1 || ms[0] != (msg{TopicMotionAlarm, "Changed", "VideoSource_1", "true"}) {
		t.Fatalf("event pull %v", ms)
	}
	// Timeout honoured: empty answer after about the timeout.
	start = time.Now()
	_, ms = pull(t, s, path, "PT0.3S", 10)
	if el := time.Since(start); len(ms) != 0 || el < 250*time.Millisecond || el > 5*time.Second {
		t.Errorf("empty pull: %v after %v", ms, el)
	}
	// SetSynchronizationPoint: current states again, as Initialized.
	r = do(t, s, path, zeepEvents(NSEvents, "SetSynchronizationPoint", ""))
	if r.code != 200 || r.root.XMLName != xmlName(NSEvents, "SetSynchronizationPointResponse") {
		t.Fatalf("SetSynchronizationPoint: %d\n%s", r.code, r.body)
	}
	_, ms = pull(t, s, path, "PT0S", 10)
	if len(ms) != 2 || ms[0] != (msg{TopicMotionAlarm, "Initialized", "VideoSource_1", "true"}) || ms[1].op != "Initialized" {
		t.Fatalf("sync pull %v", ms)
	}
	// Renew extends (duration and absolute).
	clk.add(5 * time.Second)
	r = do(t, s, path, zeepEvents(NSWSNT, "Renew", `<ns0:TerminationTime>PT1M</ns0:TerminationTime>`))
	if r.code != 200 || r.root.child(NSWSNT, "TerminationTime").text() != "2026-11-25T12:01:05Z" {
		t.Fatalf("Renew: %d\n%s", r.code, r.body)
	}
	r = do(t, s, path, zeepEvents(NSWSNT, "Renew", `<ns0:TerminationTime>2026-11-25T12:02:00Z</ns0:TerminationTime>`))
	if r.code != 200 || r.root.child(NSWSNT, "TerminationTime").text() != "2026-11-25T12:02:00Z" {
		t.Fatalf("Renew absolute: %d\n%s", r.code, r.body)
	}
	clk.add(60 * time.Second) // past the first termination time
	if r, _ := pull(t, s, path, "PT0S", 1); r.code != 200 {
		t.Fatalf("pull after renew: %d\n%s", r.code, r.body)
	}
	// Unsubscribe (subscription named by wsa:To); then pulls fault.
	to := `<soap-env:Envelope xmlns:soap-env="http://www.w3.org/2003/05/soap-envelope"><soap-env:Header><wsa:To xmlns:wsa="http://www.w3.org/2005/08/addressing" soap-env:mustUnderstand="true">http://192.0.2.10:8080` +
		path + `</wsa:To></soap-env:Header><soap-env:Body><ns0:Unsubscribe xmlns:ns0="http://docs.oasis-open.org/wsn/b-2"/></soap-env:Body></soap-env:Envelope>`
	r = do(t, s, EventsPath, to)
	if r.code != 200 || r.root.XMLName != xmlName(NSWSNT, "UnsubscribeResponse") {
		t.Fatalf("Unsubscribe: %d\n%s", r.code, r.body)
	}
	r, _ = pull(t, s, path, "PT0S", 1)
	checkFault(t, r, "Sender", "ResourceUnknown")
	r = do(t, s, EventsPath+"?sub=nope", zeepEvents(NSWSNT, "Renew", `<ns0:TerminationTime>PT1M</ns0:TerminationTime>`))
	checkFault(t, r, "Sender", "ResourceUnknown")
}

func TestEventsUnblockOnUnsubscribe(t *testing.T) {
	s, _ := evServer(t)
	path, _ := create(t, s, "")
	pull(t, s, path, "PT0S", 10) // drain initial states
	done := make(chan result, 1)
	go func() {
		r, _ := pull(t, s, path, "PT30S", 10)
		done <- r
	}()
	time.Sleep(100 * time.Millisecond)
	do(t, s, path, zeepEvents(NSWSNT, "Unsubscribe", ""))
	select {
	case r := <-done:
		checkFault(t, r, "Sender", "ResourceUnknown")
	case <-time.After(10 * time.Second):
		t.Fatal("pull still blocked after Unsubscribe")
	}
}

func TestEventsExpiryAndCap(t *testing.T) {
	s, clk := evServer(t)
	path, r := create(t, s, "") // default PT60S
	if got := r.root.child(NSWSNT, "TerminationTime").text(); got != "2026-11-25T12:01:00Z" {
		t.Errorf("default TerminationTime %q", got)
	}
	clk.add(61 * time.Second)
	r, _ = pull(t, s, path, "PT0S", 1)
	checkFault(t, r, "Sender", "ResourceUnknown")

	for i := 0; i < MaxSubscriptions; i++ {
		create(t, s, `<ns0:InitialTerminationTime>PT1M</ns0:InitialTerminationTime>`)
	}
	r = do(t, s, EventsPath, zeepEvents(NSEvents, "CreatePullPointSubscription", ""))
	checkFault(t, r, "Receiver", "TooManySubscriptions")
	// Expired ones free their slots.
	clk.add(2 * time.Minute)
	create(t, s, "")

	// Bad termination times.
	for _, v := range []string{"P", "PT", "10S", "2026-11-25T11:00:00Z", "PTxS"} {
		r = do(t, s, EventsPath, zeepEvents(NSEvents, "CreatePullPointSubscription", `<ns0:InitialTerminationTime>`+v+`</ns0:InitialTerminationTime>`))
		checkFault(t, r, "Sender", "UnacceptableTerminationTime")
	}
}

func TestEventsQueueBounded(t *testing.T) {
	s, _ := evServer(t)
	path, _ := create(t, s, "")
	for i := 0; i < 3*eventQueueCap; i++ {
		s.PublishImageTooDark(i%2 == 0)
	}
	_, ms := pull(t, s, path, "PT0S", 1000)
	if len(ms) != eventQueueCap {
		t.Fatalf("%d messages, want %d", len(ms), eventQueueCap)
	}
	if last := ms[len(ms)-1]; last.state != "false" || last.topic != TopicImageTooDark {
		t.Errorf("last %v", last)
	}
}

func TestParseDuration(t *testing.T) {
	for v, want := range map[string]time.Duration{
		"PT10S": 10 * time.Second, "PT1M": time.Minute, "PT1H2M3.5S": time.Hour + 2*time.Minute + 3500*time.Millisecond,
		"P1D": 24 * time.Hour, "PT0S": 0, "P1DT1S": 24*time.Hour + time.Second,
	} {
		if got, ok := parseDuration(v); !ok || got != want {
			t.Errorf("%s: %v %v", v, got, ok)
		}
	}
	for _, v := range []string{"", "P", "PT", "-PT1S", "T1S", "PT1.5", "1S"} {
		if _, ok := parseDuration(v); ok {
			t.Errorf("%q accepted", v)
		}
	}
}

func TestEventProperties(t *testing.T) {
	s, _ := evServer(t)
	r := do(t, s, DevicePath, zeepEvents(NSEvents, "GetEventProperties", ""))
	if r.code != 200 || r.root.XMLName != xmlName(NSEvents, "GetEventPropertiesResponse") {
		t.Fatalf("GetEventProperties: %d\n%s", r.code, r.body)
	}
	vs := r.root.child(NSWSTop, "TopicSet").child(NSTopics, "VideoSource")
	ma := vs.child(NSTopics, "MotionAlarm")
	if ma == nil || ma.attr("topic") != "true" || ma.child(NSSchema, "MessageDescription").attr("IsProperty") != "true" {
		t.Fatalf("no MotionAlarm topic:\n%s", r.body)
	}
	if vs.child(NSTopics, "ImageTooDark").child(NSTopics, "ImagingService") == nil {
		t.Fatalf("no ImageTooDark topic:\n%s", r.body)
	}
	if !strings.Contains(r.body, `xmlns:tns1="http://www.onvif.org/ver10/topics"`) {
		t.Error("tns1 not declared")
	}
	// Capabilities are pre-auth and listed in GetServices.
	o := authOptions()
	s = newServer(t, o)
	r = do(t, s, EventsPath, zeepEvents(NSEvents, "GetServiceCapabilities", ""))
	if r.code != 200 || r.root.child(NSEvents, "Capabilities").attr("WSPullPointSupport") != "true" {
		t.Fatalf("GetServiceCapabilities: %d\n%s", r.code, r.body)
	}
	r = do(t, s, EventsPath, zeepEvents(NSEvents, "CreatePullPointSubscription", ""))
	if r.code != 401 {
		t.Errorf("unauthenticated CreatePullPointSubscription: %d", r.code)
	}
	r = do(t, s, DevicePath, envelopeFor(`<GetServices xmlns="http://www.onvif.org/ver10/device/wsdl"><IncludeCapability>false</IncludeCapability></GetServices>`))
	if !strings.Contains(r.body, "http://192.0.2.10:8080/onvif/events_service") {
		t.Errorf("events not in GetServices:\n%s", r.body)
	}
}
