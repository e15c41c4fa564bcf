package onvif

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Namespaces of the events service.
const (
	NSWSNT   = "http://docs.oasis-open.org/wsn/b-2"
	NSWSTop  = "http://docs.oasis-open.org/wsn/t-1"
	NSWSA    = "http://www.w3.org/2005/08/addressing"
	NSTopics = "http://www.onvif.org/ver10/topics"
	NSXS     = "http://www.w3.org/2001/XMLSchema"
)

// Event topics published by the server. Both are properties of the video
// source (Source SimpleItem VideoSourceToken, Data SimpleItem State, an
// xs:boolean).
const (
	// TopicMotionAlarm is true while motion is detected (the topic Home
	// Assistant, Blue Iris and ODM read as motion).
	TopicMotionAlarm = "tns1:VideoSource/MotionAlarm"
	// TopicImageTooDark is the day/night state: true at night (the
	// picture is too dark for day mode: IR on), false by day. It is the
	// ONVIF imaging topic tns1:VideoSource/ImageTooDark/ImagingService.
	TopicImageTooDark = "tns1:VideoSource/ImageTooDark/ImagingService"
)

// Limits of the pull-point service.
const (
	// MaxSubscriptions is the number of live pull points; one more gets
	// env:Receiver / ter:Action / ter:TooManySubscriptions.
	MaxSubscriptions = 16
	// eventQueueCap is the per-subscription queue; the oldest messages
	// are dropped past it.
	eventQueueCap = 64
	// maxPullTimeout caps the Timeout of PullMessages.
	maxPullTimeout = 60 * time.Second
	// defaultTermination is used without InitialTerminationTime;
	// maxTermination caps the lifetime granted by one request.
	defaultTermination = 60 * time.Second
	maxTermination     = time.Hour
)

const topicDialect = "http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet"

type kv struct{ k, v string }

func sortedKV(m map[string]string) []kv {
	out := make([]kv, 0, len(m))
	for k, v := range m {
		out = append(out, kv{k, v})
	}
	slices.SortFunc(out, func(a, b kv) int { return strings.Compare(a.k, b.k) })
	return out
}

// eventMsg is one notification.
type eventMsg struct {
	topic        string
	t            time.Time
	op           string // Initialized, Changed, Deleted
	source, data []kv
}

type subscription struct {
	id   string
	term time.Time
	q    []eventMsg
	wake chan struct{} // signalled (non-blocking) when q grows
	done chan struct{} // closed on Unsubscribe or expiry
}

type eventService struct {
	mu     sync.Mutex
	subs   map[string]*subscription
	states []eventMsg // current state of each property (topic+source)
}

func tev(name string, content ...any) *el  { return e("tev:"+name, content...) }
func wsnt(name string, content ...any) *el { return e("wsnt:"+name, content...) }

func (s *Server) eventsOps() {
	now := s.opts.Now()
	src := map[string]string{"VideoSourceToken": videoSourceToken}
	s.ev = &eventService{subs: map[string]*subscription{}}
	for _, tp := range []string{TopicMotionAlarm, TopicImageTooDark} {
		s.ev.states = append(s.ev.states, eventMsg{topic: tp, t: now, op: "Initialized",
			source: sortedKV(src), data: []kv{{"State", "false"}}})
	}
	v := NSEvents
	s.handle(v, "GetServiceCapabilities", preAuth, func(c *call) (*el, error) {
		return tev("GetServiceCapabilitiesResponse", s.eventsServiceCaps()), nil
	})
	s.handle(v, "GetEventProperties", read, s.getEventProperties)
	s.handle(v, "CreatePullPointSubscription", read, s.createPullPoint)
	s.handle(v, "PullMessages", read, s.pullMessages)
	s.handle(v, "SetSynchronizationPoint", read, s.setSyncPoint)
	s.handle(NSWSNT, "Renew", read, s.renew)
	s.handle(NSWSNT, "Unsubscribe", read, s.unsubscribe)
}

// eventsServiceCaps returns tev:Capabilities.
func (s *Server) eventsServiceCaps() *el {
	return tev("Capabilities", a("WSSubscriptionPolicySupport", "false"), a("WSPullPointSupport", "true"),
		a("WSPausableSubscriptionManagerInterfaceSupport", "false"), a("MaxNotificationProducers", "0"),
		a("MaxPullPoints", itoa(MaxSubscriptions)), a("PersistentNotificationStorage", "false"))
}

// Publish sends an event to every subscription and records it as the
// current state of its property (topic and source), which new
// subscriptions and SetSynchronizationPoint get as Initialized. topic is
// a ConcreteSet expression with the tns1 prefix, such as
// TopicMotionAlarm. It is safe for concurrent use.
func (s *Server) Publish(topic string, source, data map[string]string) {
	m := eventMsg{topic: topic, t: s.opts.Now(), op: "Changed", source: sortedKV(source), data: sortedKV(data)}
	ev := s.ev
	ev.mu.Lock()
	defer ev.mu.Unlock()
	found := false
	for i := range ev.states {
		if ev.states[i].topic == topic && slices.Equal(ev.states[i].source, m.source) {
			ev.states[i] = m
			found = true
			break
		}
	}
	if !found && len(ev.states) < 64 {
		ev.states = append(ev.states, m)
	}
	s.pruneLocked()
	for _, sub := range ev.subs {
		sub.push(m)
	}
}

// PublishMotion publishes TopicMotionAlarm for the video source.
func (s *Server) PublishMotion(active bool) {
	s.Publish(TopicMotionAlarm, map[string]string{"VideoSourceToken": videoSourceToken}, map[string]string{"State": bstr(active)})
}

// PublishImageTooDark publishes TopicImageTooDark (night: true).
func (s *Server) PublishImageTooDark(dark bool) {
	s.Publish(TopicImageTooDark, map[string]string{"VideoSourceToken": videoSourceToken}, map[string]string{"State": bstr(dark)})
}

func (sub *subscription) push(ms ...eventMsg) {
	sub.q = append(sub.q, ms...)
	if n := len(sub.q) - eventQueueCap; n > 0 {
		sub.q = slices.Delete(sub.q, 0, n)
	}
	select {
	case sub.wake <- struct{}{}:
	default:
	}
}

// pruneLocked ends expired subscriptions; ev.mu is held.
func (s *Server) pruneLocked() {
	now := s.opts.Now()
	for id, sub := range s.ev.subs {
		if now.After(sub.term) {
			close(sub.done)
			delete(s.ev.subs, id)
		}
	}
}

// initialLocked returns the current states as Initialized messages.
func (s *Server) initialLocked() []eventMsg {
	out := make([]eventMsg, len(s.ev.states))
	for i, m := range s.ev.states {
		m.op = "Initialized"
		out[i] = m
	}
	return out
}

func xsTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

var durationRE = regexp.MustCompile(`^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d*)?)S)?)?$`)

// parseDuration parses a non-negative xs:duration (a year is 365 days, a
// month 30).
func parseDuration(v string) (time.Duration, bool) {
	m := durationRE.FindStringSubmatch(v)
	if m == nil || v == "P" || strings.HasSuffix(v, "T") {
		return 0, false
	}
	var d float64
	for i, unit := range []float64{365 * 86400, 30 * 86400, 86400, 3600, 60, 1} {
		if m[i+1] == "" {
			continue
		}
		f, err := strconv.ParseFloat(m[i+1], 64)
		if err != nil {
			return 0, false
		}
		d += f * unit
	}
	if d > 10*365*86400 {
		d = 10 * 365 * 86400
	}
	return time.Duration(d * float64(time.Second)), true
}

// terminationTime parses an AbsoluteOrRelativeTimeType: an xs:duration
// from now or an xs:dateTime. The result is capped at now+maxTermination.
func terminationTime(v string, now time.Time, def time.Duration) (time.Time, error) {
	v = strings.TrimSpace(v)
	var t time.Time
	switch {
	case v == "":
		t = now.Add(def)
	case strings.HasPrefix(v, "P"):
		d, ok := parseDuration(v)
		if !ok {
			return t, badTermination("invalid duration " + strconv.Quote(v))
		}
		t = now.Add(d)
	default:
		var err error
		t, err = time.Parse(time.RFC3339Nano, v)
		if err != nil {
			t, err = time.ParseInLocation("2006-01-02T15:04:05.999999999", v, time.UTC)
		}
		if err != nil {
			return t, badTermination("invalid termination time " + strconv.Quote(v))
		}
	}
	if !t.After(now) {
		return t, badTermination("termination time not in the future")
	}
	if max := now.Add(maxTermination); t.After(max) {
		t = max
	}
	return t, nil
}

func badTermination(reason string) error {
	return fault(http.StatusBadRequest, "Sender", reason, "InvalidArgVal", "UnacceptableTerminationTime")
}

func noSubscription() error {
	return fault(http.StatusBadRequest, "Sender", "unknown or expired subscription", "InvalidArgVal", "ResourceUnknown")
}

// subID returns the subscription a request is for: the sub query
// parameter of the request URL, else that of the wsa:To header.
func subID(c *call) string {
	if id := c.r.URL.Query().Get("sub"); id != "" {
		return id
	}
	for i := range c.env.Headers {
		h := &c.env.Headers[i]
		if h.XMLName.Space == NSWSA && h.XMLName.Local == "To" {
			if u, err := url.Parse(h.text()); err == nil {
				return u.Query().Get("sub")
			}
		}
	}
	return ""
}

// lookup returns the live subscription of c with ev.mu held, or a fault
// (and the lock released).
func (s *Server) lookup(c *call) (*subscription, error) {
	id := subID(c)
	s.ev.mu.Lock()
	s.pruneLocked()
	sub := s.ev.subs[id]
	if sub == nil {
		s.ev.mu.Unlock()
		return nil, noSubscription()
	}
	return sub, nil
}

func (s *Server) getEventProperties(c *call) (*el, error) {
	desc := func(topic string) *el {
		return e("tt:MessageDescription", a("IsProperty", "true"),
			e("tt:Source", e("tt:SimpleItemDescription", a("Name", "VideoSourceToken"), a("Type", "tt:ReferenceToken"))),
			e("tt:Data", e("tt:SimpleItemDescription", a("Name", "State"), a("Type", "xs:boolean"))))
	}
	return tev("GetEventPropertiesResponse",
		tev("TopicNamespaceLocation", "http://www.onvif.org/onvif/ver10/topics/topicns.xml"),
		wsnt("FixedTopicSet", "true"),
		e("wstop:TopicSet",
			e("tns1:VideoSource",
				e("tns1:MotionAlarm", a("wstop:topic", "true"), desc(TopicMotionAlarm)),
				e("tns1:ImageTooDark", e("tns1:ImagingService", a("wstop:topic", "true"), desc(TopicImageTooDark))))),
		wsnt("TopicExpressionDialect", "http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet"),
		wsnt("TopicExpressionDialect", "http://docs.oasis-open.org/wsn/t-1/TopicExpression/Concrete"),
		tev("MessageContentFilterDialect", "http://www.onvif.org/ver10/tev/messageContentFilter/ItemFilter"),
		tev("MessageContentSchemaLocation", "http://www.onvif.org/onvif/ver10/schema/onvif.xsd")), nil
}

// createPullPoint creates a subscription. Filter and SubscriptionPolicy
// are ignored: every subscription gets every topic.
func (s *Server) createPullPoint(c *call) (*el, error) {
	now := s.opts.Now()
	term, err := terminationTime(c.op.child("*", "InitialTerminationTime").text(), now, defaultTermination)
	if err != nil {
		return nil, err
	}
	var b [12]byte
	rand.Read(b[:])
	sub := &subscription{id: hex.EncodeToString(b[:]), term: term, wake: make(chan struct{}, 1), done: make(chan struct{})}
	ev := s.ev
	ev.mu.Lock()
	s.pruneLocked()
	if len(ev.subs) >= MaxSubscriptions {
		ev.mu.Unlock()
		return nil, fault(http.StatusInternalServerError, "Receiver", "too many pull-point subscriptions", "Action", "TooManySubscriptions")
	}
	sub.push(s.initialLocked()...)
	ev.subs[sub.id] = sub
	ev.mu.Unlock()
	return tev("CreatePullPointSubscriptionResponse",
		tev("SubscriptionReference", e("wsa:Address", c.url("http", c.port, EventsPath)+"?sub="+sub.id)),
		wsnt("CurrentTime", xsTime(now)),
		wsnt("TerminationTime", xsTime(term))), nil
}

func (s *Server) pullMessages(c *call) (*el, error) {
	timeout := time.Duration(0)
	if x := c.op.child("*", "Timeout"); x != nil {
		d, ok := parseDuration(x.text())
		if !ok {
			return nil, fault(http.StatusBadRequest, "Sender", "invalid Timeout", "InvalidArgVal")
		}
		timeout = min(d, maxPullTimeout)
	}
	limit := eventQueueCap
	if x := c.op.child("*", "MessageLimit"); x != nil {
		n, err := strconv.Atoi(x.text())
		if err != nil || n < 0 {
			return nil, fault(http.StatusBadRequest, "Sender", "invalid MessageLimit", "InvalidArgVal")
		}
		limit = max(n, 1)
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		sub, err := s.lookup(c)
		if err != nil {
			return nil, err
		}
		// ev.mu is held.
		if len(sub.q) > 0 || timeout == 0 {
			n := min(limit, len(sub.q))
			msgs := slices.Clone(sub.q[:n])
			sub.q = slices.Delete(sub.q, 0, n)
			term := sub.term
			s.ev.mu.Unlock()
			r := tev("PullMessagesResponse", tev("CurrentTime", xsTime(s.opts.Now())), tev("TerminationTime", xsTime(term)))
			for _, m := range msgs {
				r.kids = append(r.kids, m.element())
			}
			return r, nil
		}
		s.ev.mu.Unlock()
		select {
		case <-sub.wake:
		case <-sub.done:
		case <-timer.C:
			timeout = 0 // answer with what there is
		case <-c.r.Context().Done():
			return nil, c.r.Context().Err()
		}
	}
}

func (m *eventMsg) element() *el {
	items := func(name string, kvs []kv) *el {
		x := e(name)
		for _, p := range kvs {
			x.kids = append(x.kids, e("tt:SimpleItem", a("Name", p.k), a("Value", p.v)))
		}
		return x
	}
	return wsnt("NotificationMessage",
		wsnt("Topic", a("Dialect", topicDialect), m.topic),
		wsnt("Message", e("tt:Message", a("UtcTime", m.t.UTC().Format("2006-01-02T15:04:05.000Z")), a("PropertyOperation", m.op),
			items("tt:Source", m.source), items("tt:Data", m.data))))
}

func (s *Server) setSyncPoint(c *call) (*el, error) {
	sub, err := s.lookup(c)
	if err != nil {
		return nil, err
	}
	sub.push(s.initialLocked()...)
	s.ev.mu.Unlock()
	return tev("SetSynchronizationPointResponse"), nil
}

func (s *Server) renew(c *call) (*el, error) {
	now := s.opts.Now()
	term, err := terminationTime(c.op.child("*", "TerminationTime").text(), now, defaultTermination)
	if err != nil {
		return nil, err
	}
	sub, err := s.lookup(c)
	if err != nil {
		return nil, err
	}
	sub.term = term
	s.ev.mu.Unlock()
	return wsnt("RenewResponse", wsnt("TerminationTime", xsTime(term)), wsnt("CurrentTime", xsTime(now))), nil
}

func (s *Server) unsubscribe(c *call) (*el, error) {
	sub, err := s.lookup(c)
	if err != nil {
		return nil, err
	}
	close(sub.done)
	delete(s.ev.subs, sub.id)
	s.ev.mu.Unlock()
	return wsnt("UnsubscribeResponse"), nil
}
