package onvif

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Namespaces of the SOAP envelopes and of the ONVIF services.
const (
	NSSOAP12 = "http://www.w3.org/2003/05/soap-envelope"
	NSSOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
	NSDevice = "http://www.onvif.org/ver10/device/wsdl"
	NSMedia  = "http://www.onvif.org/ver10/media/wsdl"
	NSSchema = "http://www.onvif.org/ver10/schema"
	NSError  = "http://www.onvif.org/ver10/error"
	NSImg    = "http://www.onvif.org/ver20/imaging/wsdl"
	NSEvents = "http://www.onvif.org/ver10/events/wsdl"
	NSWSSE   = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
	NSWSU    = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
)

// node is a generic, namespace-resolved XML element.
type node struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Nodes   []node     `xml:",any"`
	Text    string     `xml:",chardata"`
}

// child returns the first child with namespace ns (any namespace when ns
// is "*") and local name local, or nil.
func (n *node) child(ns, local string) *node {
	if n == nil {
		return nil
	}
	for i := range n.Nodes {
		c := &n.Nodes[i]
		if c.XMLName.Local == local && (ns == "*" || c.XMLName.Space == ns) {
			return c
		}
	}
	return nil
}

// text returns the trimmed character data of n, or "" for nil.
func (n *node) text() string {
	if n == nil {
		return ""
	}
	return strings.TrimSpace(n.Text)
}

// attr returns the value of the attribute local (any namespace), or "".
func (n *node) attr(local string) string {
	if n == nil {
		return ""
	}
	for _, a := range n.Attrs {
		if a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}

// envelope is a parsed SOAP request.
type envelope struct {
	// Version is 11 or 12.
	Version int
	// Headers are the children of the Header element.
	Headers []node
	// Op is the first child of the Body: the operation.
	Op node
}

// errVersion is returned by parseEnvelope for a root element that is not
// a SOAP 1.1 or 1.2 Envelope.
var errVersion = errors.New("onvif: not a SOAP 1.1 or 1.2 envelope")

// parseEnvelope parses a SOAP 1.1 or 1.2 envelope, resolving namespaces.
// Only the first element of the Body is kept.
func parseEnvelope(b []byte) (*envelope, error) {
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = true
	var env envelope
	root, err := nextStart(d)
	if err != nil {
		return nil, err
	}
	if root.Name.Local != "Envelope" {
		return nil, errVersion
	}
	envNS := root.Name.Space
	switch envNS {
	case NSSOAP12:
		env.Version = 12
	case NSSOAP11:
		env.Version = 11
	default:
		return nil, errVersion
	}
	haveBody := false
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return nil, errors.New("onvif: truncated envelope")
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.EndElement:
			if !haveBody {
				return nil, errors.New("onvif: envelope without Body")
			}
			// Check that the rest of the document is well formed.
			for {
				if _, err := d.Token(); err == io.EOF {
					return &env, nil
				} else if err != nil {
					return nil, err
				}
			}
		case xml.StartElement:
			if t.Name.Space != envNS {
				return nil, fmt.Errorf("onvif: unexpected element %s in Envelope", t.Name.Local)
			}
			switch t.Name.Local {
			case "Header":
				if haveBody {
					return nil, errors.New("onvif: Header after Body")
				}
				var h node
				if err := d.DecodeElement(&h, &t); err != nil {
					return nil, err
				}
				env.Headers = append(env.Headers, h.Nodes...)
			case "Body":
				if haveBody {
					return nil, errors.New("onvif: two Body elements")
				}
				haveBody = true
				var bd node
				if err := d.DecodeElement(&bd, &t); err != nil {
					return nil, err
				}
				if len(bd.Nodes) == 0 {
					return nil, errors.New("onvif: empty Body")
				}
				env.Op = bd.Nodes[0]
			default:
				return nil, fmt.Errorf("onvif: unexpected element %s in Envelope", t.Name.Local)
			}
		}
	}
}

func nextStart(d *xml.Decoder) (xml.StartElement, error) {
	for {
		tok, err := d.Token()
		if err != nil {
			if err == io.EOF {
				return xml.StartElement{}, errors.New("onvif: empty document")
			}
			return xml.StartElement{}, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			return t, nil
		case xml.CharData:
			if len(bytes.TrimSpace(t)) != 0 {
				return xml.StartElement{}, errors.New("onvif: text before the root element")
			}
		}
	}
}

// el is an element of a reply. Its name carries a literal prefix (such as
// "tt:Width") that the reply's Envelope declares.
type el struct {
	name  string
	attrs []xml.Attr
	text  string
	kids  []*el
}

// e makes an element. Each argument is a child *el, a []*el, an attr, or
// a string for the text content; nil children are skipped.
func e(name string, content ...any) *el {
	x := &el{name: name}
	for _, c := range content {
		switch v := c.(type) {
		case *el:
			if v != nil {
				x.kids = append(x.kids, v)
			}
		case []*el:
			for _, k := range v {
				if k != nil {
					x.kids = append(x.kids, k)
				}
			}
		case attr:
			x.attrs = append(x.attrs, xml.Attr{Name: xml.Name{Local: v.name}, Value: v.value})
		case string:
			x.text += v
		default:
			panic(fmt.Sprintf("onvif: bad element content %T", c))
		}
	}
	return x
}

type attr struct{ name, value string }

func a(name, value string) attr { return attr{name, value} }

func (x *el) encode(enc *xml.Encoder) error {
	start := xml.StartElement{Name: xml.Name{Local: x.name}, Attr: x.attrs}
	if err := enc.EncodeToken(start); err != nil {
		return err
	}
	if x.text != "" {
		if err := enc.EncodeToken(xml.CharData(x.text)); err != nil {
			return err
		}
	}
	for _, k := range x.kids {
		if err := k.encode(enc); err != nil {
			return err
		}
	}
	return enc.EncodeToken(xml.EndElement{Name: start.Name})
}

// prefixes are declared on every reply's Envelope.
var prefixes = [][2]string{
	{"tds", NSDevice},
	{"trt", NSMedia},
	{"tt", NSSchema},
	{"ter", NSError},
	{"timg", NSImg},
	{"tev", NSEvents},
	{"wsnt", NSWSNT},
	{"wsa", NSWSA},
	{"tns1", NSTopics},
	{"wstop", NSWSTop},
	{"xs", NSXS},
}

// marshalEnvelope writes a SOAP envelope of the given version around body.
func marshalEnvelope(version int, body *el) ([]byte, error) {
	ns := NSSOAP12
	if version == 11 {
		ns = NSSOAP11
	}
	root := e("env:Envelope", a("xmlns:env", ns))
	for _, p := range prefixes {
		root.attrs = append(root.attrs, xml.Attr{Name: xml.Name{Local: "xmlns:" + p[0]}, Value: p[1]})
	}
	root.kids = append(root.kids, e("env:Body", body))
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(&buf)
	if err := root.encode(enc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Fault is a SOAP fault to send back.
type Fault struct {
	// Status is the HTTP status code.
	Status int
	// Code is "Sender", "Receiver", "MustUnderstand" or "VersionMismatch".
	Code string
	// Subcodes are local names in the ter: namespace, outermost first.
	Subcodes []string
	// Reason is the human-readable text.
	Reason string
	// challenge holds WWW-Authenticate values for a 401.
	challenge []string
}

func (f *Fault) Error() string {
	return fmt.Sprintf("onvif: fault %s %v: %s", f.Code, f.Subcodes, f.Reason)
}

func (f *Fault) element(version int) *el {
	if version == 11 {
		code := "env:Client"
		switch f.Code {
		case "Receiver":
			code = "env:Server"
		case "MustUnderstand", "VersionMismatch":
			code = "env:" + f.Code
		}
		reason := f.Reason
		if len(f.Subcodes) > 0 {
			reason = "ter:" + f.Subcodes[len(f.Subcodes)-1] + ": " + reason
		}
		return e("env:Fault", e("faultcode", code), e("faultstring", reason))
	}
	var sub *el
	for i := len(f.Subcodes) - 1; i >= 0; i-- {
		s := e("env:Subcode", e("env:Value", "ter:"+f.Subcodes[i]), sub)
		sub = s
	}
	return e("env:Fault",
		e("env:Code", e("env:Value", "env:"+f.Code), sub),
		e("env:Reason", e("env:Text", a("xml:lang", "en"), f.Reason)))
}

func fault(status int, code, reason string, subcodes ...string) *Fault {
	return &Fault{Status: status, Code: code, Subcodes: subcodes, Reason: reason}
}
