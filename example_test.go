package dicomrecv_test

import (
	"context"
	"fmt"
	"log"
	"net"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/dicomrecv/dicomrecv"
)

// A receiver that reports each stored file. Port 0 picks a free port. To
// have something to receive, the example sends one of pydicom's samples to
// itself with DCMTK's storescu (installed by .ci/run).
func Example() {
	dir, err := os.MkdirTemp("", "dicomrecv-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	srv, err := dicomrecv.New(dicomrecv.Config{Port: 0, AETitle: "MY-SCP", OutDir: dir})
	if err != nil {
		log.Fatal(err)
	}
	stored := make(chan dicomrecv.FileStoredEvent, 1)
	srv.OnFileStored(func(ev dicomrecv.FileStoredEvent) {
		stored <- ev
	})
	if err := srv.Start(); err != nil {
		log.Fatal(err)
	}
	defer srv.Shutdown(context.Background())

	_, port, _ := net.SplitHostPort(srv.Addr().String())
	sample := "/usr/lib/python3/dist-packages/pydicom/data/test_files/CT_small.dcm"
	if err := exec.Command("storescu", "-aet", "CT-SCANNER", "-aec", "MY-SCP", "127.0.0.1", port, sample).Run(); err != nil {
		log.Fatal(err)
	}
	ev := <-stored
	fmt.Println(filepath.Base(ev.File), "from", ev.CallingAETitle)
	// Output: 1.3.6.1.4.1.5962.1.1.1.1.1.20040119072730.12322.dcm from CT-SCANNER
}
