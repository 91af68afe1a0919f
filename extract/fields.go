// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

package extract

import (
	"github.com/dockerfleet/dockerfleet/extract/payload"
	"github.com/falcosecurity/plugin-sdk-go/pkg/sdk"
)

// source says where a field's value comes from. A switch over it, rather
// than a function value per field, keeps Extract free of indirect calls and
// lets the compiler see that the event does not escape.
type source uint8

const (
	srcStatus source = iota
	srcID
	srcFrom
	srcType
	srcAction
	srcScope
	srcActorID
	srcHost
	srcNodeID
	srcAttr    // the attribute named by field.key
	srcAttrArg // the attribute named by the field's argument
	srcTruncated
	// srcInspected: the enrichment context (see inspected_fields.go).
	srcInspected
)

// field is one row of the field table: what Falco is told, and where the
// value is read.
type field struct {
	entry sdk.FieldEntry
	src   source
	key   string // for srcAttr
}

// str declares a string field with the type of the original plugin.
func str(name, display, desc string, src source) field {
	return field{entry: sdk.FieldEntry{Type: "string", Name: name, Display: display, Desc: desc}, src: src}
}

// attr declares a string field that reads one Actor.Attributes key.
func attr(name, display, desc, key string) field {
	f := str(name, display, desc, srcAttr)
	f.key = key
	return f
}

// table lists the fields in the order of Fields(): a field's ID, as Falco
// passes it to Extract, is its index here. The 21 fields of the original
// plugin come first, in its order, then the fields dockerfleet adds.
//
// Fixes against the original plugin (falcosecurity/plugins, plugins/docker):
//   - docker.attributes.exitcode and docker.attributes.signal came out
//     wrong: read from the wrong keys (exitcode) in some versions, declared
//     but never extracted in others (no case in its Extract, hence an
//     error). They read the daemon's attributes "exitCode" (capital C: die
//     and exec_die events) and "signal" (kill events).
//   - docker.actor.id was extracted but not declared; it is declared here.
//   - docker.status, docker.id and docker.from are empty on engines from API
//     1.52 on (Docker 29), which no longer send them; they are derived as
//     old engines filled them (see payload.Event.Status, ID and From).
//   - a missing attribute or member gave "" (a Go map's zero value); it
//     gives no value here, so docker.attributes.exitcode != 0 is not true of
//     an event that has no exit code.
//   - docker.node.id gave nothing for node events themselves; it gives the
//     node's ID (Actor.ID) there (see nodeID).
var table = []field{
	str("docker.status", "Status", "Status of the event (deprecated by Docker: same as docker.action for container and image events; derived from it when the engine no longer sends it).",
		srcStatus),
	str("docker.id", "ID", "ID of the event's object (deprecated by Docker: the container or image ID, as docker.actor.id; derived from it when the engine no longer sends it).",
		srcID),
	str("docker.from", "From", "Image of the container (deprecated by Docker: container events only; derived from the image attribute when the engine no longer sends it).",
		srcFrom),
	str("docker.type", "Type", "Type of the object the event is about: container, image, volume, network, daemon, plugin, service, node, secret, config, builder, or dockerfleet for the plugin's own health events.",
		srcType),
	str("docker.action", "Action", "Action of the event (create, start, die, kill, oom, pull, connect, reload, ...). exec_create, exec_start and health_status carry a suffix, e.g. 'exec_start: sh -c date'.",
		srcAction),
	attr("docker.stack.namespace", "Stack Namespace", "Stack namespace of a swarm service's container (label com.docker.stack.namespace).",
		"com.docker.stack.namespace"),
	str("docker.node.id", "Swarm Node ID", "Swarm node ID: the node running a task's container (label com.docker.swarm.node.id), or the node itself for node events.",
		srcNodeID),
	attr("docker.swarm.task", "Swarm Task", "Swarm task marker of a container (label com.docker.swarm.task, present and empty on swarm task containers).",
		"com.docker.swarm.task"),
	attr("docker.swarm.taskid", "Swarm Task ID", "Swarm task ID of a container (label com.docker.swarm.task.id).",
		"com.docker.swarm.task.id"),
	attr("docker.swarm.taskname", "Swarm Task Name", "Swarm task name of a container (label com.docker.swarm.task.name).",
		"com.docker.swarm.task.name"),
	attr("docker.swarm.servicename", "Swarm Service Name", "Swarm service name of a container (label com.docker.swarm.service.name).",
		"com.docker.swarm.service.name"),
	attr("docker.node.statenew", "Node New State", "New state of a swarm node in a node update event (attribute state.new, e.g. down).",
		"state.new"),
	attr("docker.node.stateold", "Node Old State", "Previous state of a swarm node in a node update event (attribute state.old, e.g. ready).",
		"state.old"),
	attr("docker.attributes.container", "Attribute Container", "Container ID in network connect/disconnect and volume mount/unmount events (attribute container).",
		"container"),
	attr("docker.attributes.image", "Attribute Image", "Image of a container event (attribute image).",
		"image"),
	attr("docker.attributes.name", "Attribute Name", "Name of the event's object: container, image, network, volume or node name (attribute name).",
		"name"),
	attr("docker.attributes.type", "Attribute Type", "Network driver in network events, e.g. bridge (attribute type).",
		"type"),
	attr("docker.attributes.exitcode", "Attribute Exit Code", "Exit code of a container (die) or exec (exec_die) event (attribute exitCode), e.g. 137.",
		"exitCode"),
	attr("docker.attributes.signal", "Attribute Signal", "Signal number of a kill event (attribute signal), e.g. 9.",
		"signal"),
	str("docker.scope", "Scope", "Scope of the event: local, or swarm for cluster events.",
		srcScope),
	str("docker.actor.id", "Actor ID", "ID of the event's object (Actor.ID): container ID, image ID, volume name, network ID, daemon ID, node ID, ...",
		srcActorID),

	// Added by dockerfleet.
	str("docker.host", "Host", "Label of the Docker host the event came from (the name= of its endpoint in open_params, else the endpoint URL).",
		srcHost),
	{
		entry: sdk.FieldEntry{
			Type: "string", Name: "docker.attributes", Display: "Attribute",
			Desc: "Any attribute of the event by key, including container labels, e.g. docker.attributes[com.example.team] or docker.attributes[execID].",
			Arg:  sdk.FieldEntryArg{IsKey: true, IsRequired: true},
		},
		src: srcAttrArg,
	},
	{
		entry: sdk.FieldEntry{
			Type: "bool", Name: "docker.truncated", Display: "Truncated",
			Desc: "True when the daemon's event line was longer than maxEventSize (or held more than 65,535 attributes) and was cut to fit: strings over 4 KiB end with ...[truncated], and attributes that did not fit are left out, but type, action, IDs, scope, time, host and the attributes name, image, execID, exitCode, signal and oldName are always there.",
		},
		src: srcTruncated,
	},
}

// nodeID reads the swarm node ID of a task's container, or, for node events,
// the node's own ID: the original plugin read only the label, which node
// events do not carry.
func nodeID(ev *payload.Event) (string, bool) {
	if v, ok := ev.Attr("com.docker.swarm.node.id"); ok {
		return v, true
	}
	if ev.Type() == "node" {
		return ev.ActorID()
	}
	return "", false
}

// Fields returns the field table Falco is given (plugin Fields()); a
// field's index in it is the ID Extract receives. It is a fresh copy, so
// that no caller can change what Extract relies on.
func Fields() []sdk.FieldEntry {
	f := make([]sdk.FieldEntry, len(table))
	for i, t := range table {
		f[i] = t.entry
	}
	return f
}
