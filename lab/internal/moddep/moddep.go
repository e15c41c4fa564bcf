// Package moddep reads a kernel modules.dep file and orders module loads so
// that every module comes after its dependencies. It is shared by the lab's
// guest /init (which loads modules) and the host harness (which packs only
// the needed .ko files into the initramfs).
package moddep

import (
	"bufio"
	"fmt"
	"io"
	"path"
	"strings"
)

// Deps maps a normalized module name to its modules.dep entry.
type Deps map[string]Entry

// Entry is one modules.dep line: the module's path relative to
// /lib/modules/<version> and the paths of everything it depends on.
type Entry struct {
	Path string
	Deps []string
}

// Name returns the normalized module name of a .ko path or module name:
// the base name without ".ko" (or ".ko.xz" etc.) and with '-' replaced by
// '_', as modprobe compares them.
func Name(p string) string {
	b := path.Base(p)
	if i := strings.Index(b, ".ko"); i >= 0 {
		b = b[:i]
	}
	return strings.ReplaceAll(b, "-", "_")
}

// Parse reads modules.dep.
func Parse(r io.Reader) (Deps, error) {
	d := Deps{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		mod, deps, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("modules.dep: malformed line %q", line)
		}
		d[Name(mod)] = Entry{Path: mod, Deps: strings.Fields(deps)}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("modules.dep: %w", err)
	}
	return d, nil
}

// Order returns the module paths to load for the named modules, each after
// all of its dependencies, without duplicates.
func (d Deps) Order(names ...string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	var visit func(name string, stack []string) error
	visit = func(name string, stack []string) error {
		n := Name(name)
		if seen[n] {
			return nil
		}
		for _, s := range stack {
			if s == n {
				return fmt.Errorf("modules.dep: dependency cycle through %s", n)
			}
		}
		e, ok := d[n]
		if !ok {
			return fmt.Errorf("module %q is not in modules.dep", name)
		}
		// modules.dep lists the full closure with the deepest dependency
		// last, so walking it backwards loads the leaves first.
		for i := len(e.Deps) - 1; i >= 0; i-- {
			if err := visit(e.Deps[i], append(stack, n)); err != nil {
				return err
			}
		}
		seen[n] = true
		out = append(out, e.Path)
		return nil
	}
	for _, n := range names {
		if err := visit(n, nil); err != nil {
			return nil, err
		}
	}
	return out, nil
}
