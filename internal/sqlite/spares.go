package sqlite

import (
	"errors"
	"os"
)

// spareTenantFiles is how many synced copies of the tenant template are
// kept ready in templates/, beside the template, so that creating a tenant
// (and so provisioning a sandbox) only renames a file into tenants/ (the
// same file system) instead of writing and syncing 256 KiB while the caller
// waits. They are writeTemp's files, so that Open removes those a previous
// process left, which may be of an older schema.
const spareTenantFiles = 4

// spareFiles is the pool of ready template copies. A goroutine refills it
// in the background after each take.
type spareFiles struct {
	dir      string
	template []byte
	ready    chan string
	refill   chan struct{}
	stop     chan struct{}
	done     chan struct{}
}

func startSpareFiles(dir string, template []byte) *spareFiles {
	p := &spareFiles{
		dir:      dir,
		template: template,
		ready:    make(chan string, spareTenantFiles),
		refill:   make(chan struct{}, 1),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	p.refill <- struct{}{}
	go p.run()
	return p
}

func (p *spareFiles) run() {
	defer close(p.done)
	for {
		select {
		case <-p.stop:
			return
		case <-p.refill:
		}
		for len(p.ready) < cap(p.ready) {
			select {
			case <-p.stop:
				return
			default:
			}
			name, err := writeTemp(p.dir, "spare", p.template)
			if err != nil {
				// Creating a tenant writes its own copy instead, and
				// reports the error if that fails too.
				break
			}
			p.ready <- name // never blocks: only this goroutine adds
		}
	}
}

// take returns the path of a synced copy of the template that the caller
// now owns (and must rename or remove): a spare if one is ready, else one
// written now.
func (p *spareFiles) take() (string, error) {
	select {
	case name := <-p.ready:
		select {
		case p.refill <- struct{}{}:
		default: // a refill is already due
		}
		return name, nil
	default:
		return writeTemp(p.dir, "spare", p.template)
	}
}

// close stops the refilling and removes the spares.
func (p *spareFiles) close() error {
	close(p.stop)
	<-p.done
	var errs []error
	for {
		select {
		case name := <-p.ready:
			if err := os.Remove(name); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, err)
			}
		default:
			return errors.Join(errs...)
		}
	}
}
