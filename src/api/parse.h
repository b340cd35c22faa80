// Parsing and validation of manifests (YAML or JSON; multi-document; `kind: List`).
//
// Validation equals what the API server would reject with the published CRDs: OpenAPI schema
// limits and the CEL rules of the Go types. An invalid object is reported with file, line, object
// and field, and left out of the ObjectSet; it never affects other objects. Unknown kinds are
// skipped with a debug log. Never throws (parser errors are caught here).
//
// What "as the API server would" means here, in detail:
// - Gateway API kinds are checked against the v1.6 CRDs (experimental channel, a superset of
//   standard), for every served apiVersion; the few per-version differences (v1alpha2 L4 routes,
//   v1alpha2 TLSRoute hostnames) are honoured. Unknown and duplicate fields are rejected, as
//   `kubectl apply` (--validate=strict, its default) does. CRD defaults are filled in.
// - Core kinds (Namespace, Service, EndpointSlice, Secret, ConfigMap) get the API server's
//   built-in validation for the fields gantry reads; other fields are ignored.
// - Scalars resolve as kubectl's YAML-to-JSON step resolves them (YAML 1.1: unquoted yes/no/on/
//   off/y/n are booleans, 080 is octal), so `name: no` is "must be of type string". Merge keys
//   (`<<: *anchor`) are expanded.
// - HTTPRoute rules with no matches (absent or `[]`) get the CRD's default match, PathPrefix "/".
//
// Each error carries the line of the offending field. Thread-safe: files may be parsed
// concurrently.
#pragma once

#include <string>
#include <vector>

#include "api/objects.h"

namespace gantry::api {

struct SourceFile {
  std::string path;     // as shown in messages
  std::string content;  // raw bytes
};

struct ValidationError {
  std::string file;
  int line = 0;
  std::string object;  // "<Kind> <namespace>/<name>", or "" when the document itself is broken
  std::string field;   // JSON path such as "spec.listeners[0].port", or ""
  std::string message;
  std::string toString() const;  // "file:line: Kind ns/name: field: message"
};

struct ParseResult {
  ObjectSet objects;
  std::vector<ValidationError> errors;
};

// Parses one file's content; objects are appended to `out.objects`, problems to `out.errors`.
// Objects without metadata.namespace get "default" for namespaced kinds.
void parseFile(const SourceFile& file, ParseResult& out);

// Convenience: parses several files.
ParseResult parseFiles(const std::vector<SourceFile>& files);

}  // namespace gantry::api
