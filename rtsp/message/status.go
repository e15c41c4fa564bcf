package message

// RTSP status codes (RFC 2326 §7.1.1).
const (
	StatusContinue = 100

	StatusOK                  = 200
	StatusCreated             = 201
	StatusLowOnStorageSpace   = 250
	StatusMultipleChoices     = 300
	StatusMovedPermanently    = 301
	StatusMovedTemporarily    = 302
	StatusSeeOther            = 303
	StatusNotModified         = 304
	StatusUseProxy            = 305
	StatusBadRequest          = 400
	StatusUnauthorized        = 401
	StatusPaymentRequired     = 402
	StatusForbidden           = 403
	StatusNotFound            = 404
	StatusMethodNotAllowed    = 405
	StatusNotAcceptable       = 406
	StatusProxyAuthRequired   = 407
	StatusRequestTimeout      = 408
	StatusGone                = 410
	StatusLengthRequired      = 411
	StatusPreconditionFailed  = 412
	StatusRequestEntityTooBig = 413
	StatusRequestURITooLong   = 414
	StatusUnsupportedMedia    = 415

	StatusParameterNotUnderstood         = 451
	StatusConferenceNotFound             = 452
	StatusNotEnoughBandwidth             = 453
	StatusSessionNotFound                = 454
	StatusMethodNotValidInThisState      = 455
	StatusHeaderFieldNotValidForResource = 456
	StatusInvalidRange                   = 457
	StatusParameterIsReadOnly            = 458
	StatusAggregateOperationNotAllowed   = 459
	StatusOnlyAggregateOperationAllowed  = 460
	StatusUnsupportedTransport           = 461
	StatusDestinationUnreachable         = 462
	StatusInternalServerError            = 500
	StatusNotImplemented                 = 501
	StatusBadGateway                     = 502
	StatusServiceUnavailable             = 503
	StatusGatewayTimeout                 = 504
	StatusRTSPVersionNotSupported        = 505
	StatusOptionNotSupported             = 551
)

// StatusText returns the RFC 2326 reason phrase for code, or "" if code is
// not one of the codes defined there.
func StatusText(code int) string {
	switch code {
	case StatusContinue:
		return "Continue"
	case StatusOK:
		return "OK"
	case StatusCreated:
		return "Created"
	case StatusLowOnStorageSpace:
		return "Low on Storage Space"
	case StatusMultipleChoices:
		return "Multiple Choices"
	case StatusMovedPermanently:
		return "Moved Permanently"
	case StatusMovedTemporarily:
		return "Moved Temporarily"
	case StatusSeeOther:
		return "See Other"
	case StatusNotModified:
		return "Not Modified"
	case StatusUseProxy:
		return "Use Proxy"
	case StatusBadRequest:
		return "Bad Request"
	case StatusUnauthorized:
		return "Unauthorized"
	case StatusPaymentRequired:
		return "Payment Required"
	case StatusForbidden:
		return "Forbidden"
	case StatusNotFound:
		return "Not Found"
	case StatusMethodNotAllowed:
		return "Method Not Allowed"
	case StatusNotAcceptable:
		return "Not Acceptable"
	case StatusProxyAuthRequired:
		return "Proxy Authentication Required"
	case StatusRequestTimeout:
		return "Request Time-out"
	case StatusGone:
		return "Gone"
	case StatusLengthRequired:
		return "Length Required"
	case StatusPreconditionFailed:
		return "Precondition Failed"
	case StatusRequestEntityTooBig:
		return "Request Entity Too Large"
	case StatusRequestURITooLong:
		return "Request-URI Too Large"
	case StatusUnsupportedMedia:
		return "Unsupported Media Type"
	case StatusParameterNotUnderstood:
		return "Parameter Not Understood"
	case StatusConferenceNotFound:
		return "Conference Not Found"
	case StatusNotEnoughBandwidth:
		return "Not Enough Bandwidth"
	case StatusSessionNotFound:
		return "Session Not Found"
	case StatusMethodNotValidInThisState:
		return "Method Not Valid in This State"
	case StatusHeaderFieldNotValidForResource:
		return "Header Field Not Valid for Resource"
	case StatusInvalidRange:
		return "Invalid Range"
	case StatusParameterIsReadOnly:
		return "Parameter Is Read-Only"
	case StatusAggregateOperationNotAllowed:
		return "Aggregate operation not allowed"
	case StatusOnlyAggregateOperationAllowed:
		return "Only aggregate operation allowed"
	case StatusUnsupportedTransport:
		return "Unsupported transport"
	case StatusDestinationUnreachable:
		return "Destination unreachable"
	case StatusInternalServerError:
		return "Internal Server Error"
	case StatusNotImplemented:
		return "Not Implemented"
	case StatusBadGateway:
		return "Bad Gateway"
	case StatusServiceUnavailable:
		return "Service Unavailable"
	case StatusGatewayTimeout:
		return "Gateway Time-out"
	case StatusRTSPVersionNotSupported:
		return "RTSP Version not supported"
	case StatusOptionNotSupported:
		return "Option not supported"
	}
	return ""
}
