// Parsing and validation of manifests (YAML or JSON; multi-document; `kind: List`).
//
// Validation equals what the API server would reject with the published CRDs: OpenAPI schema
// limits and the CEL rules of the Go types. An invalid object is reported with file, line, object
// and field, and left out of the ObjectSet; it never affects other objects. Unknown kinds are
// skipped with a debug log. Never throws (yaml-cpp and simdjson errors are caught here).
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
