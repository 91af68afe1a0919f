// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

// Package kubernetes holds the Kubernetes manifests of dockerfleet (a
// sharded StatefulSet of Falco with the plugin) and their tests: every
// manifest decodes strictly into the Kubernetes API types, and the pieces
// fit together (mounts, ConfigMap keys, replicas and shard count, the
// plugin's own parsing of the configuration they carry).
package kubernetes

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/dockerfleet/dockerfleet/hosts"
	"github.com/dockerfleet/dockerfleet/plugin"
)

// decodeStrict decodes a manifest into out, refusing any field the API
// type does not have (a misspelt key would otherwise vanish silently).
func decodeStrict(t *testing.T, path string, out any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := sigsyaml.UnmarshalStrict(data, out); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

type manifests struct {
	ns     corev1.Namespace
	cm     corev1.ConfigMap
	svc    corev1.Service
	sts    appsv1.StatefulSet
	falcoC corev1.Container
}

func load(t *testing.T) manifests {
	t.Helper()
	var m manifests
	decodeStrict(t, "namespace.yaml", &m.ns)
	decodeStrict(t, "configmap.yaml", &m.cm)
	decodeStrict(t, "service.yaml", &m.svc)
	decodeStrict(t, "statefulset.yaml", &m.sts)
	for kind, got := range map[string]string{
		"Namespace": m.ns.Kind, "ConfigMap": m.cm.Kind, "Service": m.svc.Kind, "StatefulSet": m.sts.Kind,
	} {
		if got != kind {
			t.Errorf("kind %q, want %q", got, kind)
		}
	}
	for _, c := range m.sts.Spec.Template.Spec.Containers {
		if c.Name == "falco" {
			m.falcoC = c
		}
	}
	if m.falcoC.Name == "" {
		t.Fatal("statefulset.yaml has no falco container")
	}
	return m
}

// TestKustomizationListsEveryManifest: kubectl apply -k applies them all.
func TestKustomizationListsEveryManifest(t *testing.T) {
	var k struct {
		APIVersion string   `json:"apiVersion"`
		Kind       string   `json:"kind"`
		Namespace  string   `json:"namespace"`
		Resources  []string `json:"resources"`
	}
	decodeStrict(t, "kustomization.yaml", &k)
	files, err := filepath.Glob("*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if f != "kustomization.yaml" && !slices.Contains(k.Resources, f) {
			t.Errorf("kustomization.yaml does not list %s", f)
		}
	}
	if k.Kind != "Kustomization" || k.Namespace != "dockerfleet" {
		t.Errorf("kustomization: %+v", k)
	}
}

// TestStatefulSetFitsTogether: mounts name volumes that exist, volumes
// name ConfigMap keys that exist, the selector matches the pods, the
// service governs the set.
func TestStatefulSetFitsTogether(t *testing.T) {
	m := load(t)
	spec := m.sts.Spec.Template.Spec
	volumes := map[string]corev1.Volume{}
	for _, v := range spec.Volumes {
		volumes[v.Name] = v
	}
	for _, c := range append(slices.Clone(spec.InitContainers), spec.Containers...) {
		for _, vm := range c.VolumeMounts {
			if _, ok := volumes[vm.Name]; !ok {
				t.Errorf("container %s mounts volume %q, which the pod does not have", c.Name, vm.Name)
			}
		}
	}
	for _, v := range spec.Volumes {
		if v.ConfigMap == nil {
			continue
		}
		if v.ConfigMap.Name != m.cm.Name {
			t.Errorf("volume %s uses ConfigMap %q, the manifests have %q", v.Name, v.ConfigMap.Name, m.cm.Name)
		}
		for _, item := range v.ConfigMap.Items {
			if _, ok := m.cm.Data[item.Key]; !ok {
				t.Errorf("volume %s takes key %q, which the ConfigMap lacks", v.Name, item.Key)
			}
		}
	}
	for k, v := range m.sts.Spec.Selector.MatchLabels {
		if m.sts.Spec.Template.Labels[k] != v {
			t.Errorf("selector %s=%s does not match the pod template", k, v)
		}
		if m.svc.Spec.Selector[k] != v {
			t.Errorf("selector %s=%s does not match the service", k, v)
		}
	}
	if m.sts.Spec.ServiceName != m.svc.Name || m.svc.Spec.ClusterIP != corev1.ClusterIPNone {
		t.Errorf("the StatefulSet's service must be the headless %s", m.svc.Name)
	}
	// The inventory must be a directory mount: a subPath mount is never
	// updated by Kubernetes, so the plugin would never see a change.
	for _, vm := range m.falcoC.VolumeMounts {
		if vm.Name == "inventory" && vm.SubPath != "" {
			t.Errorf("the inventory is mounted with subPath %q: Kubernetes does not update subPath mounts", vm.SubPath)
		}
	}
}

// falcoConfig is the part of falco.yaml the checks read.
type falcoConfig struct {
	Plugins []struct {
		Name        string         `yaml:"name"`
		LibraryPath string         `yaml:"library_path"`
		InitConfig  map[string]any `yaml:"init_config"`
		OpenParams  string         `yaml:"open_params"`
	} `yaml:"plugins"`
	LoadPlugins []string `yaml:"load_plugins"`
	RulesFiles  []string `yaml:"rules_files"`
}

// TestFalcoConfigPointsIntoTheMounts: the plugin, rules, inventory and TLS
// material that falco.yaml names are where the pod mounts them, and the
// replica count is the shard count.
func TestFalcoConfigPointsIntoTheMounts(t *testing.T) {
	m := load(t)
	var cfg falcoConfig
	if err := yaml.Unmarshal([]byte(m.cm.Data["falco.yaml"]), &cfg); err != nil {
		t.Fatalf("falco.yaml: %v", err)
	}
	if len(cfg.Plugins) != 1 || !slices.Equal(cfg.LoadPlugins, []string{"dockerfleet"}) {
		t.Fatalf("falco.yaml loads %v with %d plugin entries", cfg.LoadPlugins, len(cfg.Plugins))
	}
	p := cfg.Plugins[0]
	mounted := func(path string) bool {
		for _, vm := range m.falcoC.VolumeMounts {
			if path == vm.MountPath || strings.HasPrefix(path, strings.TrimSuffix(vm.MountPath, "/")+"/") {
				return true
			}
		}
		return false
	}
	inventory := strings.TrimPrefix(p.OpenParams, "file://")
	tlsCfg, _ := p.InitConfig["tls"].(map[string]any)
	certDir, _ := tlsCfg["certDir"].(string)
	for what, path := range map[string]string{
		"library_path": p.LibraryPath, "the rules file": cfg.RulesFiles[0],
		"the inventory": inventory, "tls.certDir": certDir,
	} {
		if path == "" || !mounted(path) {
			t.Errorf("%s %q is not inside a mount of the falco container", what, path)
		}
	}
	// The inventory reads as the plugin reads it.
	invFile := filepath.Join(t.TempDir(), "hosts")
	if err := os.WriteFile(invFile, []byte(m.cm.Data["hosts"]), 0o600); err != nil {
		t.Fatal(err)
	}
	if lines, err := hosts.ReadInventory(invFile); err != nil || len(lines) == 0 {
		t.Errorf("the inventory of configmap.yaml: %d endpoints, %v", len(lines), err)
	}
	if !strings.HasPrefix(p.OpenParams, hosts.InventoryScheme) {
		t.Errorf("open_params %q does not name the inventory file", p.OpenParams)
	}
	raw, err := json.Marshal(p.InitConfig)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plugin.ParseConfig(string(raw)); err != nil {
		t.Errorf("the plugin refuses falco.yaml's init_config: %v", err)
	}
	shard, _ := p.InitConfig["shard"].(map[string]any)
	count, _ := shard["count"].(int)
	if m.sts.Spec.Replicas == nil || int(*m.sts.Spec.Replicas) != count {
		t.Errorf("shard.count %v and replicas %v differ: every host must have exactly one replica", shard["count"], m.sts.Spec.Replicas)
	}
}

// TestHelmValuesDecode: the values file's Kubernetes objects (init
// container, volumes, mounts) decode strictly into their API types.
func TestHelmValuesDecode(t *testing.T) {
	data, err := os.ReadFile("../helm/values-dockerfleet.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var values struct {
		Extra struct {
			InitContainers []any `yaml:"initContainers"`
		} `yaml:"extra"`
		Mounts struct {
			Volumes      []any `yaml:"volumes"`
			VolumeMounts []any `yaml:"volumeMounts"`
		} `yaml:"mounts"`
	}
	if err := yaml.Unmarshal(data, &values); err != nil {
		t.Fatal(err)
	}
	strict := func(what string, in any, out any) {
		t.Helper()
		raw, err := yaml.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		if err := sigsyaml.UnmarshalStrict(raw, out); err != nil {
			t.Errorf("%s: %v", what, err)
		}
	}
	if len(values.Extra.InitContainers) == 0 || len(values.Mounts.Volumes) == 0 || len(values.Mounts.VolumeMounts) == 0 {
		t.Fatal("values-dockerfleet.yaml lacks the plugin's init container, volumes or mounts")
	}
	for _, c := range values.Extra.InitContainers {
		strict("extra.initContainers", c, &corev1.Container{})
	}
	for _, v := range values.Mounts.Volumes {
		strict("mounts.volumes", v, &corev1.Volume{})
	}
	for _, vm := range values.Mounts.VolumeMounts {
		strict("mounts.volumeMounts", vm, &corev1.VolumeMount{})
	}
}
