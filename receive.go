package dicomrecv

import (
	"bytes"
	"compress/flate"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"github.com/dicomrecv/dicomrecv/dicom"
	"github.com/dicomrecv/dicomrecv/internal/assoc"
	"github.com/dicomrecv/dicomrecv/internal/dimse"
	"github.com/dicomrecv/dicomrecv/internal/metrics"
	"github.com/dicomrecv/dicomrecv/internal/study"
	"github.com/dicomrecv/dicomrecv/internal/tlsconf"
	"github.com/dicomrecv/dicomrecv/storage"
)

// association is the server side of one connection.
type association struct {
	srv    *Server
	nc     net.Conn
	conn   *assoc.Conn
	log    *slog.Logger
	remote string

	calling, called string

	abortOnce sync.Once
	rsp       []byte // response buffer, reused
	counted   string // remote IP counted by admit, "" when not counted
	// peerSubject is the subject of the client's TLS certificate.
	peerSubject string
	// hr parses each data set's header, reusing its buffers.
	hr dicom.HeaderReader
	// wbuf gathers the data set's bytes into large writes to storage: the
	// PDVs arrive in pieces of at most maxPduLength.
	wbuf *storeWriter
	meta []byte // file meta buffer, reused
}

func (srv *Server) newAssociation(nc net.Conn) *association {
	return &association{srv: srv, nc: nc, remote: nc.RemoteAddr().String(), log: srv.log}
}

// abort ends the association from another goroutine (shutdown deadline): an
// A-ABORT (service-user source) written directly, then the connection closed.
func (a *association) abort(why string) {
	a.abortOnce.Do(func() {
		_ = a.nc.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = a.nc.Write([]byte{0x07, 0, 0, 0, 0, 4, 0, 0, 0, 0})
		_ = a.nc.Close()
		a.log.Warn("association aborted", "remote", a.remote, "calling", a.calling, "reason", why)
	})
}

func (a *association) assocConfig() *assoc.Config {
	s := a.srv.s
	cfg := &assoc.Config{
		Policy:           a.srv.policy,
		Strict:           s.Strict,
		ReadBufferSize:   readBufferSize(s.maxPDU),
		ARTIMTimeout:     s.ARTIMTimeout,
		IdleTimeout:      s.IdleTimeout,
		DIMSETimeout:     s.DIMSETimeout,
		PDUReadTimeout:   s.PDUReadTimeout,
		MaxRequestLength: uint32(s.MaxAssociateRequestSize),
		MaxContexts:      s.MaxPresentationContexts,
	}
	if s.MaxAssociationLifetime > 0 {
		cfg.Deadline = time.Now().Add(s.MaxAssociationLifetime)
	}
	cfg.RejectFunc = a.admit
	return cfg
}

// admit runs once the A-ASSOCIATE-RQ has been read: it rejects the request
// while shutting down or over the association limits, and otherwise counts
// the association (released by leave). Connections still waiting for their
// request do not count, so idle connections cannot lock senders out.
func (a *association) admit() *assoc.RejectError {
	srv := a.srv
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if srv.closed {
		return assoc.ErrShuttingDown
	}
	if max := srv.s.MaxAssociations; max > 0 && srv.active.Load() >= int64(max) {
		rj := *assoc.ErrLimitExceeded
		rj.Msg = fmt.Sprintf("%d associations open (maxAssociations %d)", srv.active.Load(), max)
		return &rj
	}
	ip := remoteIP(a.nc)
	if max := srv.s.MaxAssociationsPerPeer; max > 0 && srv.perPeer[ip] >= max {
		rj := *assoc.ErrLimitExceeded
		rj.Msg = fmt.Sprintf("%d associations open from %s (maxAssociationsPerPeer %d)", srv.perPeer[ip], ip, max)
		return &rj
	}
	srv.active.Add(1)
	srv.perPeer[ip]++
	a.counted = ip
	return nil
}

// leave releases what admit counted.
func (a *association) leave() {
	if a.counted == "" {
		return
	}
	srv := a.srv
	srv.mu.Lock()
	srv.active.Add(-1)
	if srv.perPeer[a.counted]--; srv.perPeer[a.counted] <= 0 {
		delete(srv.perPeer, a.counted)
	}
	a.counted = ""
	srv.mu.Unlock()
}

func remoteIP(nc net.Conn) string {
	if ta, ok := nc.RemoteAddr().(*net.TCPAddr); ok {
		return ta.IP.String()
	}
	host, _, _ := net.SplitHostPort(nc.RemoteAddr().String())
	return host
}

// readBufferSize gives an accepted association a read buffer that holds
// several PDUs, so that one read system call brings many of them.
func readBufferSize(maxPDU uint32) int {
	n := int(maxPDU)*4 + 64
	if n < 256<<10 {
		n = 256 << 10
	}
	if n > 1<<20 {
		n = 1 << 20
	}
	return n
}

func (a *association) serve() {
	defer a.nc.Close()
	defer a.leave()
	srv := a.srv
	cfg := a.assocConfig()
	a.conn = assoc.NewConn(a.nc, cfg)
	if err := a.conn.Accept(); err != nil {
		if rq := a.conn.RQ; rq != nil {
			a.calling = trimAE(rq.CallingAE[:])
		}
		a.fail("association not established", err)
		return
	}
	n := a.conn.Negotiation
	a.calling, a.called = n.CallingAETitle, n.CalledAETitle
	srv.metrics.AssociationAccepted()
	srv.metrics.AssociationOpened()
	defer srv.metrics.AssociationClosed()
	if tc, ok := a.nc.(*tls.Conn); ok {
		a.peerSubject = tlsconf.PeerSubject(tc.ConnectionState())
	}
	a.log = srv.log.With("remote", a.remote, "calling", a.calling)
	if srv.s.Verbose {
		a.log.Info("association accepted", "called", a.called, "peerMaxPDU", n.PeerMaxPDU,
			"implementation", a.conn.RQ.UserInfo.ImplementationClassUID)
		for _, r := range n.Results {
			a.log.Info("presentation context", "id", r.ID, "abstractSyntax", r.AbstractSyntax,
				"result", contextResultText(r.Result), "transferSyntax", r.TransferSyntax)
		}
	}
	mr := dimse.NewReader(a.conn)
	for {
		a.conn.AwaitMessage()
		ctxID, cmd, err := mr.ReadCommand()
		if err != nil {
			if a.endOnError(err) {
				return
			}
			continue
		}
		var data *dimse.DataReader
		if cmd.HasDataSet() {
			data = mr.DataSet(ctxID)
		}
		if err := a.handle(ctxID, cmd, data); err != nil {
			a.endOnError(err)
			return
		}
	}
}

// endOnError handles an error while reading a message; it reports whether
// the association is over.
func (a *association) endOnError(err error) bool {
	var pe *dimse.ProtocolError
	switch {
	case errors.Is(err, assoc.ErrReleased):
		if a.srv.s.Verbose {
			a.log.Info("association released")
		}
	case errors.As(err, &pe):
		a.fail("protocol error", a.conn.Abort(pe.Reason, pe.Msg))
	case errors.Is(err, dimse.ErrCommand):
		// A command set we cannot decode cannot be answered (its Message
		// ID is unknown): PS3.8 A-ABORT, invalid PDU parameter value.
		a.fail("undecodable command", a.conn.Abort(6, err.Error()))
	default:
		a.fail("association ended", err)
	}
	return true
}

// fail logs an association-level failure and emits an ErrorEvent.
func (a *association) fail(what string, err error) {
	if err == nil {
		return
	}
	msg := what + ": " + err.Error()
	var rj *assoc.RejectError
	var ae *assoc.AbortError
	switch {
	case errors.As(err, &rj):
		a.srv.metrics.AssociationRejected(metrics.RejectReason(rj.Source, rj.Reason))
	case errors.As(err, &ae):
		a.srv.metrics.AssociationAborted(metrics.AbortByUs)
	case errors.Is(err, assoc.ErrPeerAborted):
		a.srv.metrics.AssociationAborted(metrics.AbortByPeer)
	}
	if errors.As(err, &rj) {
		a.srv.log.Warn("association rejected", "remote", a.remote, "calling", a.calling, "result", rj.Result, "source", rj.Source, "reason", rj.Reason, "why", rj.Msg)
	} else {
		a.srv.log.Warn(what, "remote", a.remote, "calling", a.calling, "err", err)
	}
	a.srv.emit(ErrorEvent{Message: msg, RemoteAddr: a.remote, CallingAETitle: a.calling})
}

func contextResultText(r byte) string {
	switch r {
	case 0:
		return "accepted"
	case 1:
		return "rejected: user rejection"
	case 2:
		return "rejected: no reason"
	case 3:
		return "rejected: abstract syntax not supported"
	case 4:
		return "rejected: transfer syntaxes not supported"
	}
	return fmt.Sprintf("result %d", r)
}

// handle answers one message. It returns an error only when the
// association cannot go on.
func (a *association) handle(ctxID byte, cmd *dimse.Command, data *dimse.DataReader) error {
	// Requests carry a Message ID; responses and C-CANCEL-RQ carry the
	// Message ID Being Responded To instead (PS3.7 §9.3.1, §9.3.2.3).
	// Without them no answer can be formed.
	idOK := cmd.HasMessageID
	if cmd.IsResponse() || cmd.Field == dimse.CCancelRQ {
		idOK = cmd.HasMessageIDBeingRespondedTo
	}
	if !cmd.HasField || !idOK {
		if data != nil {
			if err := data.Drain(); err != nil {
				return err
			}
		}
		return a.conn.Abort(6, "command set without Command Field or Message ID")
	}
	switch {
	case cmd.Field == dimse.CEchoRQ:
		if data != nil {
			if err := data.Drain(); err != nil {
				return err
			}
		}
		if a.srv.s.Verbose {
			a.log.Info("C-ECHO", "messageID", cmd.MessageID)
		}
		return a.respond(ctxID, cmd, dimse.CEchoRSP, dimse.StatusSuccess, "")
	case cmd.Field == dimse.CStoreRQ:
		if data == nil {
			return a.respond(ctxID, cmd, dimse.CStoreRSP, dimse.StatusBadCommand, "C-STORE-RQ announces no data set")
		}
		return a.cstore(ctxID, cmd, data)
	case cmd.Field == dimse.CCancelRQ:
		// C-CANCEL has no response (PS3.7 §9.3.2.3); we run nothing that
		// could be cancelled.
		if data != nil {
			return data.Drain()
		}
		return nil
	case cmd.IsResponse():
		// We send no requests, so no response is expected: ignore it.
		a.log.Warn("unexpected response ignored", "command", dimse.CommandName(cmd.Field))
		if data != nil {
			return data.Drain()
		}
		return nil
	default:
		if data != nil {
			if err := data.Drain(); err != nil {
				return err
			}
		}
		a.log.Warn("unsupported command", "command", dimse.CommandName(cmd.Field))
		return a.respond(ctxID, cmd, cmd.Field|0x8000, dimse.StatusUnrecognizedOperation,
			dimse.CommandName(cmd.Field)+" is not supported")
	}
}

func (a *association) respond(ctxID byte, rq *dimse.Command, field, status uint16, comment string) error {
	rsp := &dimse.Command{
		Field:                     field,
		MessageIDBeingRespondedTo: rq.MessageID,
		AffectedSOPClassUID:       rq.AffectedSOPClassUID,
		AffectedSOPInstanceUID:    rq.AffectedSOPInstanceUID,
		Status:                    status,
		ErrorComment:              comment,
	}
	if rsp.AffectedSOPClassUID == "" {
		if ctx := a.conn.Context(ctxID); ctx != nil {
			rsp.AffectedSOPClassUID = ctx.AbstractSyntax
		}
	}
	a.rsp = dimse.AppendCommand(a.rsp[:0], rsp)
	return a.conn.WriteMessage(ctxID, true, a.rsp)
}

// cstore receives one C-STORE data set, stores it and answers.
func (a *association) cstore(ctxID byte, cmd *dimse.Command, data *dimse.DataReader) error {
	start := time.Now()
	res, status, serr := a.receive(ctxID, cmd, data)
	if serr != nil {
		// A transport or protocol failure while reading the data set ends
		// the association; a *StatusError is answered.
		var st *dimse.StatusError
		if !errors.As(serr, &st) {
			return serr
		}
		if !data.Done() {
			if err := data.Drain(); err != nil {
				return err
			}
		}
		a.log.Warn("C-STORE failed", "sopInstanceUid", cmd.AffectedSOPInstanceUID,
			"status", fmt.Sprintf("0x%04X", st.Status), "comment", st.Comment, "err", st.Err)
		a.srv.metrics.CStore(st.Status, cmd.AffectedSOPClassUID, data.Count(), time.Since(start))
		return a.respond(ctxID, cmd, dimse.CStoreRSP, st.Status, st.Comment)
	}
	if a.srv.s.Verbose {
		a.log.Info("stored", "file", res.File, "bytes", res.Bytes, "duplicate", res.Duplicate,
			"elapsed", time.Since(start).Round(time.Microsecond))
	}
	if err := a.srv.studies.Add(study.Instance{
		StudyInstanceUID:  res.StudyInstanceUID,
		SeriesInstanceUID: res.SeriesInstanceUID,
		SOPInstanceUID:    res.SOPInstanceUID,
		SOPClassUID:       res.SOPClassUID,
		TransferSyntaxUID: res.TransferSyntaxUID,
		File:              res.File,
		CallingAETitle:    res.CallingAETitle,
		Bytes:             res.Bytes,
		Tags:              res.Tags,
	}); err != nil {
		// The instance is stored and still tracked in memory; only its
		// journal record failed.
		a.log.Warn("study journal", "err", err)
	}
	a.srv.emit(*res)
	a.srv.metrics.CStore(status, cmd.AffectedSOPClassUID, res.Bytes, time.Since(start))
	comment := ""
	if status == dimse.StatusCoercion {
		comment = "onBeforeStore changed the object"
	}
	return a.respond(ctxID, cmd, dimse.CStoreRSP, status, comment)
}

// maxSpoolMemory is how much of a data set's header is held in memory
// before it spills to a temporary file.
const maxSpoolMemory = 8 << 20

// receive reads, checks and stores one data set and returns the event and
// the success or warning status to answer. Errors that are not a
// *dimse.StatusError end the association.
func (a *association) receive(ctxID byte, cmd *dimse.Command, data *dimse.DataReader) (*FileStoredEvent, uint16, error) {
	ctx := a.conn.Context(ctxID)
	switch {
	case cmd.AffectedSOPClassUID == "" || cmd.AffectedSOPInstanceUID == "":
		return nil, 0, dimse.Errorf(dimse.StatusBadCommand, "C-STORE-RQ lacks Affected SOP Class/Instance UID")
	case ctx.AbstractSyntax == assoc.VerificationSOPClass || cmd.AffectedSOPClassUID != ctx.AbstractSyntax:
		// PS3.7 §9.1.1: the Affected SOP Class UID is that of the
		// presentation context.
		return nil, 0, dimse.Errorf(dimse.StatusSOPClassNotSupported,
			"SOP class %s not negotiated on context %d", cmd.AffectedSOPClassUID, ctxID)
	}
	ts, ok := dicom.LookupTransferSyntax(ctx.TransferSyntax)
	if !ok {
		return nil, 0, dimse.Errorf(dimse.StatusCannotUnderstand, "transfer syntax %s unknown", ctx.TransferSyntax)
	}
	if min := a.srv.s.MinFreeDisk; min > 0 {
		if fb, ok := a.srv.backend.(interface{ FreeBytes() (uint64, error) }); ok {
			free, err := fb.FreeBytes()
			if err == nil && free < uint64(min) {
				return nil, 0, dimse.Errorf(dimse.StatusOutOfResources, "free disk space below minFreeDisk")
			}
		}
	}
	fn := a.srv.beforeStoreFunc()
	in, err := a.parse(ts, data, fn != nil)
	defer in.close()
	if err != nil {
		return nil, 0, err
	}
	key, ev, serr := a.check(cmd, ctx, in.h)
	if serr != nil {
		return nil, 0, serr
	}
	ev.TransferSyntaxUID = ctx.TransferSyntax
	ev.Tags = in.h.Extract(a.srv.s.extract, ts.Encoding)
	if fn != nil {
		req := &BeforeStoreRequest{
			Tags:              make(map[string]string, len(ev.Tags)+4),
			CallingAETitle:    a.calling,
			CalledAETitle:     a.called,
			RemoteAddr:        a.remote,
			TransferSyntaxUID: ctx.TransferSyntax,
			resolve:           a.srv.s.resolveName,
		}
		for k, v := range ev.Tags {
			req.Tags[k] = v
		}
		req.Tags["SOPClassUID"], req.Tags["SOPInstanceUID"] = ev.SOPClassUID, ev.SOPInstanceUID
		req.Tags["StudyInstanceUID"], req.Tags["SeriesInstanceUID"] = ev.StudyInstanceUID, ev.SeriesInstanceUID
		changes, serr := a.runBeforeStore(fn, req)
		if serr != nil {
			return nil, 0, serr
		}
		if len(changes) > 0 {
			ev, err := a.storeEdited(ts, data, in, ev, changes)
			if err != nil {
				return nil, 0, err
			}
			return ev, a.srv.s.coercion, nil
		}
	}
	if err := a.store(key, ev, ts, data, in, in.raw, data, false); err != nil {
		return nil, 0, err
	}
	return ev, dimse.StatusSuccess, nil
}

// parsed is a data set whose header has been read.
type parsed struct {
	h   *dicom.Header
	raw *spool // the bytes read from the network (the header; compressed when deflated)
	// dec holds the decoded header when it differs from raw (deflated) and
	// an edit may need it; fr then continues the decoded stream.
	dec *spool
	fr  io.ReadCloser
}

func (p *parsed) close() {
	if p.fr != nil {
		p.fr.Close()
	}
	if p.raw != nil {
		p.raw.close()
	}
	if p.dec != nil {
		p.dec.close()
	}
}

// decoded returns the spool of the decoded header.
func (p *parsed) decoded() *spool {
	if p.dec != nil {
		return p.dec
	}
	return p.raw
}

// parse reads the data set's header (everything before the pixel data)
// while keeping its bytes in a spool.
func (a *association) parse(ts dicom.TransferSyntax, data *dimse.DataReader, editable bool) (*parsed, error) {
	max := a.srv.s.MaxObjectSize
	in := &parsed{raw: newSpool()}
	in.raw.max = max
	src := io.TeeReader(data, in.raw)
	var hr io.Reader = src
	if ts.Deflated {
		in.fr = flate.NewReader(src)
		hr = in.fr
		if editable {
			in.dec = newSpool()
			hr = io.TeeReader(in.fr, in.dec)
		}
	}
	h, perr := a.hr.Read(hr, ts.Encoding, dicom.Limits{MaxDepth: a.srv.s.MaxSequenceDepth})
	if perr != nil && ts.Deflated && badDeflate(perr, data) {
		return in, &dimse.StatusError{Status: dimse.StatusUnparsable, Comment: "deflated data set is corrupt", Err: perr}
	}
	if err := in.raw.err; errors.Is(err, errTooLarge) {
		return in, tooLarge(max)
	} else if err != nil {
		return in, &dimse.StatusError{Status: dimse.StatusOutOfResources, Comment: "cannot buffer the data set", Err: err}
	}
	if in.dec != nil && in.dec.err != nil {
		return in, &dimse.StatusError{Status: dimse.StatusOutOfResources, Comment: "cannot buffer the data set", Err: in.dec.err}
	}
	if perr != nil {
		if !isParseError(perr) {
			return in, perr // the association failed while we read
		}
		return in, &dimse.StatusError{Status: dimse.StatusUnparsable, Comment: parseComment(perr), Err: perr}
	}
	in.h = h
	return in, nil
}

// parseComment is the Error Comment of an unparsable data set: what went
// wrong and where, within the 64 characters of an LO.
func parseComment(err error) string {
	var pe *dicom.ParseError
	if !errors.As(err, &pe) {
		return "data set does not parse"
	}
	for _, sentinel := range []error{dicom.ErrTruncated, dicom.ErrMalformed, dicom.ErrBadVR, dicom.ErrTooDeep,
		dicom.ErrTooManyElements, dicom.ErrTooLarge} {
		if errors.Is(pe.Err, sentinel) {
			return fmt.Sprintf("%v at %s, offset %d", sentinel, pe.Tag, pe.Offset)
		}
	}
	return fmt.Sprintf("data set does not parse at %s, offset %d", pe.Tag, pe.Offset)
}

// badDeflate reports whether err comes from inflating a malformed deflate
// stream (rather than from the network): corrupt input, or a stream that
// ends with the data set before its end.
func badDeflate(err error, data *dimse.DataReader) bool {
	var ce flate.CorruptInputError
	return errors.As(err, &ce) || (errors.Is(err, io.ErrUnexpectedEOF) && data.Done())
}

// storageFailed is the answer to a failed write or commit.
func (a *association) storageFailed(err error) *dimse.StatusError {
	a.srv.metrics.StorageError()
	return &dimse.StatusError{Status: dimse.StatusOutOfResources, Comment: "storage failed", Err: err}
}

// store writes an object: the file meta (unless DatasetOnly), the header
// from head, then the rest of the data set from rest, and commits it under
// key. With deflate, head and rest are decoded bytes to deflate again (an
// edited deflated data set); otherwise they are written as they are. It
// fills ev's File, Duplicate and Bytes.
func (a *association) store(key storage.Key, ev *FileStoredEvent, ts dicom.TransferSyntax, data *dimse.DataReader,
	in *parsed, head *spool, rest io.Reader, deflate bool) error {
	max := a.srv.s.MaxObjectSize
	obj, err := a.srv.backend.Create(context.Background(), key)
	if err != nil {
		return a.storageFailed(err)
	}
	committed := false
	defer func() {
		if !committed {
			obj.Abort()
		}
	}()
	if a.wbuf == nil {
		a.wbuf = newStoreWriter()
	}
	a.wbuf.Reset(obj)
	defer a.wbuf.Reset(nil)
	if !a.srv.s.DatasetOnly {
		a.meta = dicom.AppendFileMeta(a.meta[:0], &dicom.MetaInfo{
			MediaStorageSOPClassUID:    ev.SOPClassUID,
			MediaStorageSOPInstanceUID: ev.SOPInstanceUID,
			TransferSyntaxUID:          ts.UID,
			ImplementationClassUID:     ImplementationClassUID,
			ImplementationVersionName:  ImplementationVersionName,
			SourceAETitle:              a.srv.s.aeTitle,
			SendingAETitle:             a.calling,
			ReceivingAETitle:           a.srv.s.aeTitle,
		})
		if _, err := a.wbuf.Write(a.meta); err != nil {
			return a.storageFailed(err)
		}
	}
	var w io.Writer = a.wbuf
	var fw *flate.Writer
	if deflate {
		fw, _ = flate.NewWriter(a.wbuf, flate.DefaultCompression)
		w = fw
	}
	if err := head.writeTo(w); err != nil {
		return a.storageFailed(err)
	}
	// The rest (pixel data and anything after it) goes from the socket's
	// buffer to storage without being parsed.
	ow := &errWriter{w: w, data: data, max: max}
	if _, err := io.Copy(ow, rest); err != nil {
		if ow.err == nil {
			if deflate && badDeflate(err, data) {
				return &dimse.StatusError{Status: dimse.StatusUnparsable, Comment: "deflated data set is corrupt", Err: err}
			}
			return err // reading failed: the association is over
		}
		if errors.Is(ow.err, errTooLarge) {
			return tooLarge(max)
		}
		return a.storageFailed(ow.err)
	}
	if fw != nil {
		if err := fw.Close(); err != nil {
			return a.storageFailed(err)
		}
	}
	if err := a.wbuf.Flush(); err != nil {
		return a.storageFailed(err)
	}
	if h := in.h; h.PixelData != nil && h.PixelData.Length != dicom.UndefinedLength && !ts.Deflated {
		if end := h.Length + int64(h.PixelData.Length); data.Count() < end {
			return dimse.Errorf(dimse.StatusUnparsable, "pixel data truncated: %d of %d bytes", data.Count()-h.Length, h.PixelData.Length)
		}
	}
	res, err := obj.Commit(context.Background())
	committed = true
	if err != nil {
		if errors.Is(err, storage.ErrDuplicate) {
			return &dimse.StatusError{Status: dimse.StatusDuplicate, Comment: "SOP instance already stored", Err: err}
		}
		return a.storageFailed(err)
	}
	ev.File = res.Location
	ev.Duplicate = res.Duplicate
	ev.Bytes = data.Count()
	return nil
}

// errWriter remembers the first error of its writer, so that a failed
// write to storage can be told from a failed read from the network. It also
// enforces MaxObjectSize on the data set.
type errWriter struct {
	w    io.Writer
	err  error
	data *dimse.DataReader
	max  int64
}

// errTooLarge: the data set exceeds MaxObjectSize.
var errTooLarge = errors.New("data set exceeds maxObjectSize")

func tooLarge(max int64) *dimse.StatusError {
	return &dimse.StatusError{Status: dimse.StatusTooLarge, Comment: fmt.Sprintf("object larger than maxObjectSize (%d bytes)", max), Err: errTooLarge}
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	if e.max > 0 && e.data.Count() > e.max {
		e.err = errTooLarge
		return 0, e.err
	}
	n, err := e.w.Write(p)
	if err != nil {
		e.err = err
	}
	return n, err
}

func isParseError(err error) bool {
	var pe *dicom.ParseError
	return errors.As(err, &pe)
}

// check validates the parsed header against the command and the context and
// builds the storage key.
func (a *association) check(cmd *dimse.Command, ctx *assoc.Context, h *dicom.Header) (storage.Key, *FileStoredEvent, error) {
	for _, e := range h.Elements {
		if e.Tag.Group() == 0x0002 {
			return storage.Key{}, nil, dimse.Errorf(dimse.StatusFileMetaInDataSet, "data set carries file meta element %s", e.Tag)
		}
		if e.Tag.Group() > 0x0002 {
			break
		}
	}
	sopClass, _ := h.UID(dicom.TagSOPClassUID)
	sopInst, _ := h.UID(dicom.TagSOPInstanceUID)
	study, _ := h.UID(dicom.TagStudyInstanceUID)
	series, _ := h.UID(dicom.TagSeriesInstanceUID)
	switch {
	case sopClass == "":
		return storage.Key{}, nil, dimse.Errorf(dimse.StatusDataSetMismatch, "data set has no SOP Class UID")
	case sopClass != cmd.AffectedSOPClassUID:
		return storage.Key{}, nil, dimse.Errorf(dimse.StatusDataSetMismatch, "data set's SOP Class UID differs from the command's")
	case sopInst != cmd.AffectedSOPInstanceUID:
		return storage.Key{}, nil, dimse.Errorf(dimse.StatusInstanceMismatch, "SOP Instance UID differs from the command's")
	}
	key := storage.Key{StudyInstanceUID: study, SeriesInstanceUID: series, SOPInstanceUID: sopInst}
	if err := key.Validate(); err != nil {
		return storage.Key{}, nil, &dimse.StatusError{Status: dimse.StatusBadUID, Comment: "missing or invalid " + badUID(key), Err: err}
	}
	ev := &FileStoredEvent{
		SOPInstanceUID:         sopInst,
		SOPClassUID:            sopClass,
		StudyInstanceUID:       study,
		SeriesInstanceUID:      series,
		CallingAETitle:         a.calling,
		CalledAETitle:          a.called,
		RemoteAddr:             a.remote,
		PeerCertificateSubject: a.peerSubject,
	}
	return key, ev, nil
}

// badUID names the first UID of k that is missing or invalid.
func badUID(k storage.Key) string {
	switch {
	case !storage.ValidUID(k.StudyInstanceUID):
		return "Study Instance UID"
	case !storage.ValidUID(k.SeriesInstanceUID):
		return "Series Instance UID"
	}
	return "SOP Instance UID"
}

// spool holds the header bytes of a data set: in memory up to
// maxSpoolMemory, then in a temporary file.
type spool struct {
	mem  *bytes.Buffer
	file *os.File
	err  error
	n    int64
	max  int64 // MaxObjectSize, 0 = none
}

var spoolPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func newSpool() *spool {
	b := spoolPool.Get().(*bytes.Buffer)
	b.Reset()
	return &spool{mem: b}
}

func (s *spool) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	if s.n += int64(len(p)); s.max > 0 && s.n > s.max {
		s.err = errTooLarge
		return 0, s.err
	}
	if s.file == nil && s.mem.Len()+len(p) > maxSpoolMemory {
		f, err := os.CreateTemp("", ".dicomrecv-spool-*")
		if err != nil {
			s.err = err
			return 0, err
		}
		os.Remove(f.Name()) // unlinked: gone when closed, even after a crash
		if _, err := f.Write(s.mem.Bytes()); err != nil {
			f.Close()
			s.err = err
			return 0, err
		}
		s.file = f
		s.mem.Reset()
	}
	if s.file != nil {
		n, err := s.file.Write(p)
		if err != nil {
			s.err = err
		}
		return n, err
	}
	return s.mem.Write(p)
}

// bytes returns the spooled bytes; held in memory, without a copy.
func (s *spool) bytes() ([]byte, error) {
	if s.file == nil {
		return s.mem.Bytes(), nil
	}
	var b bytes.Buffer
	if err := s.writeTo(&b); err != nil {
		return nil, fmt.Errorf("reading the spooled header: %w", err)
	}
	return b.Bytes(), nil
}

func (s *spool) writeTo(w io.Writer) error {
	if s.file == nil {
		_, err := w.Write(s.mem.Bytes())
		return err
	}
	if _, err := s.file.Seek(0, io.SeekStart); err != nil {
		return err
	}
	_, err := io.Copy(w, s.file)
	return err
}

func (s *spool) close() {
	if s.file != nil {
		s.file.Close()
	}
	if s.mem.Cap() <= 1<<20 {
		spoolPool.Put(s.mem)
	}
}

func trimAE(b []byte) string {
	return string(bytes.Trim(b, " \x00"))
}
