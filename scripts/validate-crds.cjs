#!/usr/bin/env node
// Validates wooo's rendered custom resources (one JSON object per file) with the @kubernetes-models validators.
//
// Usage: node scripts/validate-crds.cjs DIR [DIR ...]
// Prints one line per file checked and exits non-zero when any object fails validation or has no validator.
// Core kinds (apiVersion v1, apps/v1, …) are left to kubernetes-validate and skipped here.
//
// @kubernetes-models check types, enums and required fields but not unknown fields. Where a package ships an
// older API version than wooo renders, the object is checked against that version with apiVersion rewritten:
// Istio's v1 APIs are the v1beta1/v1alpha1 schemas promoted unchanged; Linkerd's policy.linkerd.io/v1beta3
// HTTPRoute is a copy of the Gateway API HTTPRoute, so it is checked against gateway.networking.k8s.io/v1.
"use strict";
const fs = require("fs");
const path = require("path");

const MODELS = {
  "networking.istio.io/v1": { pkg: "@kubernetes-models/istio", as: "networking.istio.io/v1beta1" },
  "security.istio.io/v1": { pkg: "@kubernetes-models/istio", as: "security.istio.io/v1beta1" },
  "telemetry.istio.io/v1": { pkg: "@kubernetes-models/istio", as: "telemetry.istio.io/v1alpha1" },
  "gateway.networking.k8s.io/v1": { pkg: "@kubernetes-models/gateway-api", as: "gateway.networking.k8s.io/v1" },
  "policy.linkerd.io/v1beta3": { pkg: "@kubernetes-models/gateway-api", as: "gateway.networking.k8s.io/v1" },
  "monitoring.coreos.com/v1": { pkg: "@kubernetes-models/prometheus-operator", as: "monitoring.coreos.com/v1" },
  "cert-manager.io/v1": { pkg: "@kubernetes-models/cert-manager", as: "cert-manager.io/v1" },
};
const CORE = /^(v1|apps\/v1|autoscaling\/v2|policy\/v1|networking\.k8s\.io\/v1|rbac\.authorization\.k8s\.io\/v1)$/;

function validateFile(file) {
  const obj = JSON.parse(fs.readFileSync(file, "utf8"));
  if (CORE.test(obj.apiVersion)) return { file, status: "core" };
  const model = MODELS[obj.apiVersion];
  if (!model) return { file, status: "fail", error: `no validator for ${obj.apiVersion} ${obj.kind}` };
  const mod = require(`${model.pkg}/${model.as}/${obj.kind}`);
  const Klass = mod[obj.kind];
  if (!Klass) return { file, status: "fail", error: `${model.pkg} has no ${model.as} ${obj.kind}` };
  const data = { ...obj, apiVersion: model.as };
  try {
    new Klass(data).validate();
    return { file, status: "ok", as: `${model.as} ${obj.kind}` };
  } catch (e) {
    return { file, status: "fail", error: String(e.message || e) };
  }
}

function main(dirs) {
  let failed = 0;
  let checked = 0;
  for (const dir of dirs) {
    for (const name of fs.readdirSync(dir).sort()) {
      if (!name.endsWith(".json")) continue;
      const r = validateFile(path.join(dir, name));
      if (r.status === "core") continue;
      checked += 1;
      if (r.status === "ok") {
        console.log(`ok   ${r.file} (${r.as})`);
      } else {
        failed += 1;
        console.log(`FAIL ${r.file}: ${r.error}`);
      }
    }
  }
  console.log(`${checked - failed} passed, ${failed} failed`);
  process.exit(failed === 0 && checked > 0 ? 0 : 1);
}

main(process.argv.slice(2));
