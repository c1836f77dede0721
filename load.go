package arvfile

import (
	"strings"

	"github.com/arvfile/arvfile/actors"
	"github.com/arvfile/arvfile/keep"
	"github.com/arvfile/arvfile/segments"
	"github.com/google/uuid"
)

// ManifestError reports malformed manifest text: the line (from 1), the
// offending token and why. errors.Is finds keep.ErrInvalidLocator through it
// when a malformed locator is the cause.
type ManifestError = segments.ManifestError

// CollectionOption configures a collection made by LoadCollection.
type CollectionOption func(*collectionConfig)

type collectionConfig struct {
	readOnly bool
}

// ReadOnly makes a loaded collection read-only: every change — opening a file
// for writing, creating, truncating, Mkdir, Remove, Rename, Copy into it,
// CopyRemoteBlocks — fails with a *fs.PathError wrapping ErrReadOnly, which
// matches syscall.EROFS and fs.ErrPermission. Its files are read without
// actors, straight from the block cache.
func ReadOnly() CollectionOption { return func(c *collectionConfig) { c.readOnly = true } }

// loadedText is the manifest text a collection was loaded from.
type loadedText struct {
	text string
	ok   bool
}

// LoadCollection makes a collection of manifest text (see
// segments.ParseManifest for what is accepted); malformed text is a
// *ManifestError. Loading costs time and memory proportional to the text: no
// file actor is spawned until a file is opened (and none ever, when
// ReadOnly). The collection keeps the text: until something changes it,
// ManifestText returns the text as it was given unless Normalized is asked
// for.
func (e *Engine) LoadCollection(manifest string, opts ...CollectionOption) (*Collection, error) {
	var cfg collectionConfig
	for _, o := range opts {
		o(&cfg)
	}
	root, err := segments.ParseManifest(manifest)
	if err != nil {
		return nil, err
	}
	if e.closing.Load() {
		return nil, errEngineClosed
	}
	c := &Collection{
		e:      e,
		rt:     &actors.CollectionRuntime{ID: uuid.NewString(), ReadOnly: cfg.readOnly},
		loaded: loadedText{text: manifest, ok: true},
		done:   make(chan struct{}),
	}
	if c.pid = e.sys.SpawnCollection(c.rt, &c.subs, root); c.pid == nil {
		return nil, errEngineClosed
	}
	return c, nil
}

// ReadOnly reports whether the collection refuses every change.
func (c *Collection) ReadOnly() bool { return c.rt.ReadOnly }

// Modified reports whether anything changed the collection since it was
// made: a write, a truncation, a new or removed file, a rename, a copy.
func (c *Collection) Modified() bool { return c.rt.Changes.Load() > 0 }

// verbatim returns the text the collection was loaded from, hints stripped
// when asked, if nothing changed it and normalization is not asked for.
func (c *Collection) verbatim(opts ManifestOptions) (string, bool) {
	if !c.loaded.ok || opts.Normalized || c.Modified() {
		return "", false
	}
	if opts.Stripped {
		return stripHints(c.loaded.text), true
	}
	return c.loaded.text, true
}

// stripHints returns well-formed manifest text with every locator reduced to
// md5+size, everything else unchanged, and ending with a newline (when not
// empty) as the Python SDK's stripped_manifest gives it.
func stripHints(text string) string {
	var b strings.Builder
	b.Grow(len(text) + 1)
	for len(text) > 0 {
		line, rest, nl := strings.Cut(text, "\n")
		text = rest
		for i, tok := range strings.Split(line, " ") {
			if i > 0 {
				b.WriteByte(' ')
			}
			if i > 0 && strings.IndexByte(tok, ':') < 0 {
				if l, err := keep.ParseLocator(tok); err == nil {
					tok = l.Stripped()
				}
			}
			b.WriteString(tok)
		}
		if nl || text == "" {
			b.WriteByte('\n')
		}
	}
	return b.String()
}
