// Internal to src/api: a schema-checking reader over YAML nodes (yaml_tree.h). Every accessor
// validates what the OpenAPI schema of the CRD (or the core API's validation) would check for that
// field, and records a ValidationError with the file line of the offending field and its JSON path.
// It never throws.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/parse.h"
#include "api/yaml_tree.h"

namespace gantry::api::detail {

// A value at a JSON path. `n` is a null node when the field is absent.
struct V {
  YamlNode n;
  std::string path;
  int line = 0;  // 1-based line in the file of the field's key (or of the list item)
  bool has() const { return n.IsDefined() && !n.IsNull(); }

  V(YamlNode node, std::string p, int l) : n(std::move(node)), path(std::move(p)), line(l) {}
  V(const V&) = default;
  V(V&&) = default;
  V& operator=(const V&) = delete;
  V& operator=(V&&) = delete;
};

// OpenAPI string constraints (minLength/maxLength count Unicode code points, pattern is RE2 syntax
// and, as in OpenAPI, unanchored unless the pattern anchors itself).
struct StrSpec {
  int min_len = 0;
  int max_len = -1;  // -1 = unbounded
  const char* pattern = nullptr;
  std::vector<std::string_view> enum_values;  // empty = any
};

// How a plain (unquoted) YAML scalar resolves, the way sigs.k8s.io/yaml (go-yaml v2, YAML 1.1
// resolution) turns a manifest into JSON before the API server sees it.
enum class ScalarKind { kNull, kBool, kInt, kFloat, kString };
ScalarKind classifyScalar(const YamlNode& n);

// A mapping's entries as go-yaml (and so kubectl) sees them: YAML merge keys ("<<: *anchor", or a
// list of anchors) expanded, explicit keys overriding merged ones. the parser keeps "<<" as an
// ordinary key. Entries whose key is not a scalar are returned as they are.
struct MapEntry {
  YamlNode key;
  YamlNode value;
};
std::vector<MapEntry> mapEntries(const YamlNode& map);
bool isMergeKey(const YamlNode& key);

// True when `s` matches the RE2 `pattern` somewhere (OpenAPI/CEL `matches` semantics).
bool patternMatches(const char* pattern, std::string_view s);
size_t utf8Length(std::string_view s);

class Decoder {
 public:
  Decoder(const std::string& file, std::string object, int object_line, int line_offset,
          std::vector<ValidationError>& errors)
      : file_(file),
        object_(std::move(object)),
        object_line_(object_line),
        line_offset_(line_offset),
        errors_(errors),
        start_(errors.size()) {}

  void fail(const V& at, std::string message) { fail(at.line, at.path, std::move(message)); }
  void fail(int line, std::string path, std::string message);
  bool failed() const { return errors_.size() > start_; }
  size_t errorCount() const { return errors_.size(); }
  void setObject(std::string object) { object_ = std::move(object); }

  // The root of a document.
  V root(const YamlNode& n, int line) const { return V{n, "", line}; }

  // Mappings. `object` checks the type (absent is fine and returns false).
  bool object(const V& v);
  V field(const V& parent, std::string_view key) const;
  // Strict decoding (kubectl's default --validate=strict): unknown and duplicate fields rejected.
  void strict(const V& parent, std::initializer_list<std::string_view> known);
  // Duplicate keys only (for objects where gantry does not model every field).
  void noDuplicates(const V& parent);
  bool require(const V& v);  // "Required value" when absent

  std::optional<std::string> str(const V& v, const StrSpec& spec = {});
  std::optional<std::string> reqStr(const V& v, const StrSpec& spec = {}) {
    if (!require(v)) return std::nullopt;
    return str(v, spec);
  }
  std::optional<int64_t> integer(const V& v, std::optional<int64_t> min = std::nullopt,
                                 std::optional<int64_t> max = std::nullopt);
  std::optional<bool> boolean(const V& v);

  // Sequences: checks the type and min/max items; returns the items with their paths.
  std::vector<V> list(const V& v, size_t min_items = 0, size_t max_items = SIZE_MAX);
  // String-to-string maps (labels, options...).
  // `key_message` replaces the default message for a key that fails `key_spec`.
  std::map<std::string, std::string> strMap(const V& v, const StrSpec& key_spec,
                                            const StrSpec& value_spec, size_t max_props = SIZE_MAX,
                                            std::string_view key_message = {});
  // A set-typed list of strings (x-kubernetes-list-type=set): duplicates rejected.
  std::vector<std::string> strSet(const V& v, const StrSpec& item, size_t max_items);

  int lineOf(const YamlNode& n, int fallback) const;

 private:
  const std::string& file_;
  std::string object_;
  int object_line_;
  int line_offset_;
  std::vector<ValidationError>& errors_;
  size_t start_;
};

// Common string types of the Gateway API (apis/v1/shared_types.go) and Kubernetes core.
namespace specs {
extern const StrSpec kHostname;         // Hostname: optional "*." prefix
extern const StrSpec kPreciseHostname;  // PreciseHostname
extern const StrSpec kGroup;
extern const StrSpec kKind;
extern const StrSpec kObjectName;
extern const StrSpec kNamespace;
extern const StrSpec kSectionName;
extern const StrSpec kHeaderName;
extern const StrSpec kDuration;
extern const StrSpec kGatewayController;
extern const StrSpec kAnnotationKey;
extern const StrSpec kAnnotationValue;
extern const StrSpec kLabelKey;
extern const StrSpec kLabelValue;
extern const StrSpec kAbsoluteUri;
extern const StrSpec kCorsOrigin;
extern const StrSpec kAddressType;
extern const StrSpec kAny;
extern const StrSpec kAnyKey;
}  // namespace specs

// Canonical 64-bit fingerprint of a YAML subtree: mapping keys sorted, scalars typed as the JSON
// conversion would type them. `budget` bounds the number of nodes visited (alias bombs) and the
// depth is bounded too (alias cycles); returns nullopt when either limit is hit.
std::optional<uint64_t> canonicalHash(const YamlNode& n, uint64_t seed, size_t& budget,
                                      int depth = 0);

}  // namespace gantry::api::detail
