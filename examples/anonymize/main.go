// Command anonymize is the seed's "anonymization server" done right: a DICOM
// receiver that replaces the patient's identity in every object before it is
// stored.
//
//   - PatientName becomes ANONYMOUS^PATIENT; PatientBirthDate and PatientSex
//     are emptied; OtherPatientIDs and OtherPatientNames are removed.
//   - PatientID becomes a stable pseudonym: ANON_ followed by the first 16
//     characters of the base32 HMAC-SHA256 of the original PatientID under a
//     secret key, so the same patient gets the same pseudonym across objects,
//     associations and restarts, and nobody without the key can reverse it.
//   - One audit line per stored file (JSON) records the original PatientID,
//     its pseudonym and the SOP Instance UID. It is the re-identification
//     table: keep it where the key is kept.
//   - An object without a PatientID is refused (status 0xC006), not stored.
//
// Usage:
//
//	ANON_SECRET=... anonymize -port 11115 -aet ANON-SCP -out-dir ./anonymized-storage -audit audit.jsonl
package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/dicomrecv/dicomrecv"
)

// anonymizer holds the pseudonym key, the audit trail and the original
// PatientIDs of the objects in flight.
type anonymizer struct {
	key   []byte
	mu    sync.Mutex
	audit io.Writer
	// inFlight maps a pseudonym to its original PatientID and the number of
	// objects that passed the callback but have no FileStored event yet. It
	// is keyed by pseudonym, not by object: an object whose storing fails
	// after the callback (disk full, rejected duplicate) never gets an
	// event, and would otherwise leave an entry behind for good; this way
	// such failures leave at most one small entry per patient.
	inFlight map[string]*pending
}

type pending struct {
	original string
	count    int
}

// remember records that an object of the patient is on its way to storage.
func (a *anonymizer) remember(pseudonym, original string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.inFlight == nil {
		a.inFlight = map[string]*pending{}
	}
	p := a.inFlight[pseudonym]
	if p == nil {
		p = &pending{original: original}
		a.inFlight[pseudonym] = p
	}
	p.count++
}

// take returns the original PatientID of a stored object's pseudonym.
func (a *anonymizer) take(pseudonym string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	p := a.inFlight[pseudonym]
	if p == nil {
		return ""
	}
	if p.count--; p.count <= 0 {
		delete(a.inFlight, pseudonym)
	}
	return p.original
}

// pseudonym returns the stable pseudonym of a PatientID.
func (a *anonymizer) pseudonym(patientID string) string {
	m := hmac.New(sha256.New, a.key)
	m.Write([]byte(patientID))
	enc := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(m.Sum(nil))
	return "ANON_" + enc[:16]
}

// beforeStore is the OnBeforeStore callback.
func (a *anonymizer) beforeStore(ctx context.Context, req *dicomrecv.BeforeStoreRequest) error {
	id := strings.TrimSpace(req.Tags["PatientID"])
	if id == "" {
		return errors.New("PatientID is required")
	}
	anon := a.pseudonym(id)
	req.Set("PatientName", "ANONYMOUS^PATIENT")
	req.Set("PatientID", anon)
	req.Set("PatientBirthDate", "")
	req.Set("PatientSex", "")
	req.Delete("OtherPatientIDs")
	req.Delete("OtherPatientNames")
	req.Set("PatientIdentityRemoved", "YES")
	a.remember(anon, id)
	return nil
}

// stored writes the audit line of a stored file.
func (a *anonymizer) stored(ev dicomrecv.FileStoredEvent, original string) {
	line, _ := json.Marshal(map[string]string{
		"time":           time.Now().UTC().Format(time.RFC3339Nano),
		"sopInstanceUid": ev.SOPInstanceUID,
		"patientId":      original,
		"pseudonym":      ev.Tags["PatientID"],
		"callingAeTitle": ev.CallingAETitle,
		"file":           ev.File,
	})
	a.mu.Lock()
	defer a.mu.Unlock()
	a.audit.Write(append(line, '\n'))
}

// newServer builds the receiver around an anonymizer.
func newServer(cfg dicomrecv.Config, key []byte, audit io.Writer) (*dicomrecv.Server, *anonymizer, error) {
	cfg.ExtractTags = dicomrecv.CombineTags(cfg.ExtractTags, []string{"PatientID", "PatientName"})
	srv, err := dicomrecv.New(cfg)
	if err != nil {
		return nil, nil, err
	}
	a := &anonymizer{key: key, audit: audit}
	srv.OnBeforeStore(a.beforeStore)
	srv.OnFileStored(func(ev dicomrecv.FileStoredEvent) {
		a.stored(ev, a.take(ev.Tags["PatientID"]))
	})
	return srv, a, nil
}

func main() {
	port := flag.Int("port", 11115, "TCP port")
	aet := flag.String("aet", "ANON-SCP", "our AE title")
	outDir := flag.String("out-dir", "./anonymized-storage", "storage directory")
	auditPath := flag.String("audit", "audit.jsonl", "audit trail (JSON Lines; holds the original PatientIDs)")
	flag.Parse()
	key := []byte(os.Getenv("ANON_SECRET"))
	if len(key) < 16 {
		log.Fatal("set ANON_SECRET to a secret of at least 16 bytes: it keys the pseudonyms")
	}
	audit, err := os.OpenFile(*auditPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		log.Fatal(err)
	}
	defer audit.Close()
	srv, _, err := newServer(dicomrecv.Config{Port: *port, AETitle: *aet, OutDir: *outDir}, key, audit)
	if err != nil {
		log.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("anonymization server %s listening on %s\n", *aet, srv.Addr())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	<-sigs
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv.Shutdown(ctx)
}
