package chart

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/capstan-io/capstan/internal/testenv"
)

// TestInstallReferenceValues installs and upgrades the chart with a values file written for
// the CAP Operator's own chart, as a user replacing that release would, and checks that an
// unknown key makes helm install fail with its name, before anything is created.
func TestInstallReferenceValues(t *testing.T) {
	env := testenv.Current()
	ns, istioNS := newNamespace(t), newNamespace(t)
	name := uniqueRelease(t)
	values := referenceValues(t, istioNS)
	install(t, name, ns, "-f", values)
	mustHelm(t, "upgrade", name, chartDir(t), "--namespace", ns, "--skip-crds", "--timeout", "1m", "-f", values,
		"--set", "controller.versionMonitoring.metricsEvaluationInterval=3h")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	d, err := env.Clientset().AppsV1().Deployments(ns).Get(ctx, name+"-controller", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := envValue(t, container(t, d, "controller"), "METRICS_EVAL_INTERVAL"); got != "3h" {
		t.Errorf("after the upgrade METRICS_EVAL_INTERVAL=%q, want 3h", got)
	}
	if got := envValue(t, container(t, d, "controller"), "ROLLOUT_DELAY"); got != "45m" {
		t.Errorf("after the upgrade ROLLOUT_DELAY=%q, want 45m", got)
	}

	t.Run("UnknownKeyFailsInstall", func(t *testing.T) {
		other := uniqueRelease(t)
		_, err := helm(t, "install", other, chartDir(t), "--namespace", ns, "--skip-crds", "-f", values,
			"--set", "controller.versionMonitoring.prometheusAdress=http://p:9090")
		if err == nil {
			_, _ = helm(t, "uninstall", other, "--namespace", ns)
			t.Fatal("helm install accepted an unknown key")
		}
		if !strings.Contains(err.Error(), "prometheusAdress") {
			t.Errorf("the error does not name the key:\n%v", err)
		}
		if _, err := env.Clientset().AppsV1().Deployments(ns).Get(ctx, other+"-controller", metav1.GetOptions{}); err == nil {
			t.Error("the failed install created objects")
		}
	})
}

// crdUpgradeCommand returns the CRD upgrade command that NOTES.txt of an installed release
// prints.
func crdUpgradeCommand(t *testing.T, release, ns string) string {
	t.Helper()
	notes := mustHelm(t, "get", "notes", release, "--namespace", ns)
	for _, line := range strings.Split(notes, "\n") {
		if line = strings.TrimSpace(line); strings.HasPrefix(line, "helm show crds") {
			return line
		}
	}
	t.Fatalf("NOTES.txt has no CRD upgrade command:\n%s", notes)
	return ""
}

// TestCRDUpgradePath runs the CRD upgrade command of NOTES.txt against CRDs that an older
// chart installed with helm (simulated: the CAPApplicationVersion CRD is rewritten with field
// manager "helm" and an older description). The command must take the fields over and leave
// the chart's CRDs installed. Client-side kubectl apply must work too, which needs every CRD
// to fit into the last-applied-configuration annotation.
func TestCRDUpgradePath(t *testing.T) {
	env := testenv.Current()
	ns := newNamespace(t)
	name := uniqueRelease(t)
	install(t, name, ns)
	command := crdUpgradeCommand(t, name, ns)
	if !strings.Contains(command, "--server-side") || !strings.Contains(command, "--force-conflicts") {
		t.Errorf("the CRD command %q is not a forced server-side apply", command)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	crds := apiextensionsclient.NewForConfigOrDie(env.Config).ApiextensionsV1().CustomResourceDefinitions()
	const crdName = "capapplicationversions.sme.sap.com"
	old, err := crds.Get(ctx, crdName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	old.Spec.Versions[0].Schema.OpenAPIV3Schema.Description = "an older chart's description"
	if _, err := crds.Update(ctx, old, metav1.UpdateOptions{FieldManager: "helm"}); err != nil {
		t.Fatal(err)
	}

	command = strings.ReplaceAll(command, "<this chart>", chartDir(t))
	// Without --force-conflicts the apply fails on the fields helm owns: the flag is needed.
	if out, err := shell(t, strings.ReplaceAll(command, " --force-conflicts", "")); err == nil || !strings.Contains(out, "conflict") {
		t.Errorf("server-side apply without --force-conflicts: err %v, output %s; want a conflict", err, out)
	}
	if out, err := shell(t, command); err != nil {
		t.Fatalf("%s: %v\n%s", command, err, out)
	}
	want := chartCRD(t, "sme.sap.com_capapplicationversions.yaml")
	got, err := crds.Get(ctx, crdName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d := got.Spec.Versions[0].Schema.OpenAPIV3Schema.Description; d != want.Spec.Versions[0].Schema.OpenAPIV3Schema.Description {
		t.Errorf("after the upgrade command the description is %q, want the chart's %q", d, want.Spec.Versions[0].Schema.OpenAPIV3Schema.Description)
	}

	t.Run("ClientSideApply", func(t *testing.T) {
		out, err := env.Kubectl("apply", "-f", filepath.Join(chartDir(t), "crds"))
		if err != nil {
			t.Fatalf("client-side kubectl apply of the chart's CRDs: %v\n%s", err, out)
		}
		got, err := crds.Get(ctx, crdName, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if n := len(got.Annotations["kubectl.kubernetes.io/last-applied-configuration"]); n == 0 || n > 262144 {
			t.Errorf("last-applied-configuration annotation of %d bytes", n)
		}
	})
}

// chartCRD reads one CRD of the chart.
func chartCRD(t *testing.T, file string) *apiextensionsv1.CustomResourceDefinition {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(chartDir(t), "crds", file))
	if err != nil {
		t.Fatal(err)
	}
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := yaml.Unmarshal(data, crd); err != nil {
		t.Fatal(err)
	}
	return crd
}

// shell runs a command line as a user would, with the test environment's helm and kubectl
// first on PATH and its kubeconfig.
func shell(t *testing.T, command string) (string, error) {
	t.Helper()
	env := testenv.Current()
	home := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-o", "pipefail", "-c", command)
	cmd.Env = append(os.Environ(),
		"PATH="+env.BinDir+":/usr/bin:"+os.Getenv("PATH"),
		"HOME="+home,
		"HELM_CACHE_HOME="+filepath.Join(home, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(home, "config"),
		"HELM_DATA_HOME="+filepath.Join(home, "data"),
		"KUBECONFIG="+env.KubeconfigPath,
	)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}
