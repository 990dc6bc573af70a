#!/usr/bin/env node
// Validates wooo's rendered custom resources (one JSON object per file) with the @kubernetes-models validators.
//
// Usage: WOOO_PEERS_DIR=... node scripts/validate-crds.mjs DIR [DIR ...]
// The validators are looked up in $WOOO_PEERS_DIR/node_modules, where scripts/peers.sh installs them.
// Prints one line per object checked and `N passed, N failed`; exits non-zero when any object fails or has no
// validator, or when nothing was checked. Core kinds (v1, apps/v1, …) are left to kubernetes-validate.
//
// @kubernetes-models check types, enums and required fields but not unknown fields. Where a package ships an
// older API version than wooo renders, the object is checked against that version with apiVersion rewritten:
// Istio's v1 APIs are the v1beta1 (networking, security) and v1alpha1 (telemetry) schemas promoted unchanged;
// Linkerd's policy.linkerd.io/v1beta3 HTTPRoute copies the Gateway API HTTPRoute, so it is checked against
// gateway.networking.k8s.io/v1.
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

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

const peers = process.env.WOOO_PEERS_DIR;
if (!peers) {
  console.error("WOOO_PEERS_DIR is not set");
  process.exit(2);
}

// Imports a model class by file, which works for the CommonJS and the ES-module-only packages alike.
async function modelClass(pkg, version, kind) {
  const base = path.join(peers, "node_modules", pkg, version, kind);
  const file = [".mjs", ".js"].map((ext) => base + ext).find((f) => fs.existsSync(f));
  if (!file) return undefined;
  const mod = await import(pathToFileURL(file).href);
  return mod[kind] ?? mod.default?.[kind];
}

async function validateFile(file) {
  const obj = JSON.parse(fs.readFileSync(file, "utf8"));
  if (CORE.test(obj.apiVersion)) return { status: "core" };
  const model = MODELS[obj.apiVersion];
  if (!model) return { status: "fail", error: `no validator for ${obj.apiVersion} ${obj.kind}` };
  const Klass = await modelClass(model.pkg, model.as, obj.kind);
  if (!Klass) return { status: "fail", error: `${model.pkg} has no ${model.as} ${obj.kind}` };
  try {
    new Klass({ ...obj, apiVersion: model.as }).validate();
    return { status: "ok", as: `${model.as} ${obj.kind}` };
  } catch (e) {
    return { status: "fail", error: String(e?.message ?? e) };
  }
}

let failed = 0;
let checked = 0;
for (const dir of process.argv.slice(2)) {
  for (const name of fs.readdirSync(dir).sort()) {
    if (!name.endsWith(".json")) continue;
    const file = path.join(dir, name);
    const r = await validateFile(file);
    if (r.status === "core") continue;
    checked += 1;
    if (r.status === "ok") {
      console.log(`ok   ${file} (${r.as})`);
    } else {
      failed += 1;
      console.log(`FAIL ${file}: ${r.error}`);
    }
  }
}
console.log(`${checked - failed} passed, ${failed} failed`);
process.exit(failed === 0 && checked > 0 ? 0 : 1);
