package testenv

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"sync"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/capstan-io/capstan/internal/testenv/manifests"
)

// crdSet is the result of loading the CRD manifests.
type crdSet struct {
	crds  []*apiextensionsv1.CustomResourceDefinition
	files int
	took  time.Duration
	err   error
}

// loadAllCRDs reads the project's and the third-party CRDs (downloading
// the third-party modules if needed). Start runs it while the control plane
// boots.
func (e *Env) loadAllCRDs(ctx context.Context) crdSet {
	began := time.Now()
	files, err := e.projectCRDFiles()
	if err != nil {
		return crdSet{err: err}
	}
	if !e.opts.SkipThirdPartyCRDs {
		tp, err := manifests.ThirdPartyCRDFiles(ctx, e.Dir)
		if err != nil {
			return crdSet{err: err}
		}
		files = append(files, tp...)
	}
	set := crdSet{files: len(files)}
	for _, f := range files {
		c, err := manifests.ReadCRDs(f)
		if err != nil {
			return crdSet{err: err}
		}
		set.crds = append(set.crds, c...)
	}
	set.took = time.Since(began)
	return set
}

// installAllCRDs installs the loaded CRDs and waits until all are
// established and served.
func (e *Env) installAllCRDs(ctx context.Context, set crdSet) error {
	if set.err != nil || len(set.crds) == 0 {
		return set.err
	}
	began := time.Now()
	phases, err := e.installCRDs(ctx, set.crds)
	if err != nil {
		return err
	}
	e.opts.Logf("installed %d CRDs from %d files in %s (%s; reading them took %s meanwhile)", len(set.crds), set.files,
		time.Since(began).Round(time.Millisecond), phases, set.took.Round(time.Millisecond))
	return nil
}

// projectCRDFiles lists the CRD files of Options.CRDDirs (default
// <repo>/crds, which may be missing).
func (e *Env) projectCRDFiles() ([]string, error) {
	dirs, explicit := e.opts.CRDDirs, true
	if dirs == nil {
		dirs, explicit = []string{filepath.Join(e.RepoRoot, "crds")}, false
	}
	var files []string
	for _, dir := range dirs {
		found, err := manifests.Files(dir)
		if errors.Is(err, fs.ErrNotExist) && !explicit {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("CRD directory: %w", err)
		}
		files = append(files, found...)
	}
	return files, nil
}

// InstallCRDs creates (or updates) the given CRDs and waits until every one
// is established, its resource is listed by discovery and a list request on
// it succeeds (the API server answers 429 until a new resource's watch
// cache is initialised; waiting here keeps that out of the tests).
func (e *Env) InstallCRDs(ctx context.Context, crds []*apiextensionsv1.CustomResourceDefinition) error {
	_, err := e.installCRDs(ctx, crds)
	return err
}

// installCRDs implements InstallCRDs and describes how long each phase took.
func (e *Env) installCRDs(ctx context.Context, crds []*apiextensionsv1.CustomResourceDefinition) (string, error) {
	t0 := time.Now()
	err := forEach(crds, func(crd *apiextensionsv1.CustomResourceDefinition) error {
		_, err := e.apiext.ApiextensionsV1().CustomResourceDefinitions().Create(ctx, crd.DeepCopy(), metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			err = e.updateCRD(ctx, crd)
		}
		if err != nil {
			return fmt.Errorf("installing CRD %s: %w", crd.Name, err)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	t1 := time.Now()
	if err := e.waitCRDsServed(ctx, crds); err != nil {
		return "", err
	}
	t2 := time.Now()
	err = forEach(crds, func(crd *apiextensionsv1.CustomResourceDefinition) error {
		return e.warmCRD(ctx, crd)
	})
	round := func(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
	return fmt.Sprintf("create %s, established+discovered %s, first list %s",
		round(t1.Sub(t0)), round(t2.Sub(t1)), round(time.Since(t2))), err
}

// warmCRD lists the resources of every served version of crd until that
// succeeds. It polls itself instead of letting client-go honour the
// Retry-After of one second that comes with the 429.
func (e *Env) warmCRD(ctx context.Context, crd *apiextensionsv1.CustomResourceDefinition) error {
	for _, v := range crd.Spec.Versions {
		if !v.Served {
			continue
		}
		path := "/apis/" + crd.Spec.Group + "/" + v.Name + "/" + crd.Spec.Names.Plural
		for {
			err := e.clientset.CoreV1().RESTClient().Get().AbsPath(path).MaxRetries(0).Do(ctx).Error()
			if err == nil {
				break
			}
			if !apierrors.IsTooManyRequests(err) && !apierrors.IsServiceUnavailable(err) {
				return fmt.Errorf("listing %s: %w", path, err)
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("listing %s: %w", path, err)
			case <-time.After(pollInterval / 2):
			}
		}
	}
	return nil
}

// forEach runs fn for every CRD, a few at a time, and joins the errors.
func forEach(crds []*apiextensionsv1.CustomResourceDefinition, fn func(*apiextensionsv1.CustomResourceDefinition) error) error {
	errs := make([]error, len(crds))
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i, crd := range crds {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs[i] = fn(crd)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// updateCRD replaces the spec of an existing CRD.
func (e *Env) updateCRD(ctx context.Context, crd *apiextensionsv1.CustomResourceDefinition) error {
	client := e.apiext.ApiextensionsV1().CustomResourceDefinitions()
	existing, err := client.Get(ctx, crd.Name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	existing.Spec = crd.Spec
	_, err = client.Update(ctx, existing, metav1.UpdateOptions{})
	return err
}

// waitCRDsServed waits until every CRD has the Established condition and
// each served version lists the resource in discovery. Each round costs one
// list of CRDs and one aggregated discovery request.
func (e *Env) waitCRDsServed(ctx context.Context, crds []*apiextensionsv1.CustomResourceDefinition) error {
	pending := map[string]bool{}
	for _, crd := range crds {
		pending[crd.Name] = true
	}
	var last error
	for {
		list, err := e.apiext.ApiextensionsV1().CustomResourceDefinitions().List(ctx, metav1.ListOptions{})
		if err == nil {
			err = e.markServed(list.Items, pending)
		}
		if len(pending) == 0 {
			return nil
		}
		if err != nil {
			last = err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("CRDs not served: %v (last error: %v)", sortedKeys(pending), last)
		case <-time.After(pollInterval):
		}
	}
}

// markServed removes from pending the CRDs that are established and whose
// served versions all list the resource in discovery.
func (e *Env) markServed(items []apiextensionsv1.CustomResourceDefinition, pending map[string]bool) error {
	var established []*apiextensionsv1.CustomResourceDefinition
	for i := range items {
		if pending[items[i].Name] && crdEstablished(&items[i]) {
			established = append(established, &items[i])
		}
	}
	if len(established) == 0 {
		return nil
	}
	_, lists, err := e.clientset.Discovery().ServerGroupsAndResources()
	if len(lists) == 0 {
		return err
	}
	served := map[string]bool{} // "group/version/resource"
	for _, l := range lists {
		for _, r := range l.APIResources {
			served[l.GroupVersion+"/"+r.Name] = true
		}
	}
	for _, crd := range established {
		ok := true
		for _, v := range crd.Spec.Versions {
			ok = ok && (!v.Served || served[crd.Spec.Group+"/"+v.Name+"/"+crd.Spec.Names.Plural])
		}
		if ok {
			delete(pending, crd.Name)
		}
	}
	return nil
}

// crdEstablished reports whether the CRD's Established condition is true.
func crdEstablished(crd *apiextensionsv1.CustomResourceDefinition) bool {
	for _, c := range crd.Status.Conditions {
		if c.Type == apiextensionsv1.Established {
			return c.Status == apiextensionsv1.ConditionTrue
		}
	}
	return false
}

// sortedKeys returns the keys of m in order.
func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
