#include "api/decoder.h"

#include <re2/re2.h>

#include <algorithm>
#include <charconv>
#include <memory>
#include <mutex>
#include <set>
#include <unordered_map>

#include <fmt/format.h>

namespace gantry::api::detail {

namespace {

// The scalar text of a node known to be a scalar.
std::string_view text(const YamlNode& n) { return n.Scalar(); }

bool anyOf(std::string_view s, std::initializer_list<std::string_view> words) {
  return std::find(words.begin(), words.end(), s) != words.end();
}

bool allDigits(std::string_view s, int base) {
  if (s.empty()) return false;
  for (char c : s) {
    bool ok = base == 16  ? std::isxdigit(static_cast<unsigned char>(c)) != 0
              : base == 8 ? (c >= '0' && c <= '7')
                          : (std::isdigit(static_cast<unsigned char>(c)) != 0 || c == '_');
    if (!ok) return false;
  }
  return true;
}

// Parses a YAML 1.1 integer (decimal with optional underscores, 0x hex, leading-zero octal).
std::optional<int64_t> parseYamlInt(std::string_view raw) {
  std::string_view s = raw;
  bool neg = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    s.remove_prefix(2);
  } else if (s.size() > 1 && s[0] == '0' && allDigits(s.substr(1), 8)) {
    base = 8;
    s.remove_prefix(1);
  }
  if (!allDigits(s, base) || s[0] == '_') return std::nullopt;
  std::string digits;  // only when there are underscores to drop
  if (s.find('_') != std::string_view::npos) {
    for (char c : s)
      if (c != '_') digits.push_back(c);
    s = digits;
  }
  uint64_t value = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), value, base);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  if (!neg && value > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
  if (neg && value > static_cast<uint64_t>(INT64_MAX) + 1) return std::nullopt;
  return neg ? static_cast<int64_t>(0 - value) : static_cast<int64_t>(value);
}

bool isDigit(char c) { return c >= '0' && c <= '9'; }

// go-yaml v2's float resolution: [-+]?(\.[0-9]+|[0-9][0-9_]*(\.[0-9_]*)?)([eE][-+]?[0-9]+)?
// and the .inf/.nan spellings. Checked by hand rather than with RE2: it runs for every plain
// scalar that is not an integer, most of which fail on their first character.
bool looksFloat(std::string_view s) {
  if (s.empty()) return false;
  const char c0 = s[0];
  if (c0 != '-' && c0 != '+' && c0 != '.' && !isDigit(c0)) return false;
  if (anyOf(s, {".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF",
                ".nan", ".NaN", ".NAN"}))
    return true;
  size_t i = 0;
  const size_t n = s.size();
  auto digits = [&](bool underscore) {
    size_t start = i;
    while (i < n && (isDigit(s[i]) || (underscore && s[i] == '_'))) ++i;
    return i - start;
  };
  if (s[i] == '-' || s[i] == '+') ++i;
  if (i < n && s[i] == '.') {
    ++i;
    if (digits(false) == 0) return false;
  } else if (i < n && isDigit(s[i])) {
    ++i;
    digits(true);
    if (i < n && s[i] == '.') {
      ++i;
      digits(true);
    }
  } else {
    return false;
  }
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < n && (s[i] == '-' || s[i] == '+')) ++i;
    if (digits(false) == 0) return false;
  }
  return i == n;
}

std::string typeName(const YamlNode& n) {
  switch (n.Type()) {
    case YamlType::kMap:
      return "object";
    case YamlType::kSequence:
      return "array";
    case YamlType::kScalar:
      switch (classifyScalar(n)) {
        case ScalarKind::kNull:
          return "null";
        case ScalarKind::kBool:
          return "boolean";
        case ScalarKind::kInt:
          return "integer";
        case ScalarKind::kFloat:
          return "number";
        case ScalarKind::kString:
          return "string";
      }
      break;
    default:
      break;
  }
  return "null";
}

std::string quote(std::string_view s) {
  std::string out = "\"";
  size_t n = 0;
  for (char c : s) {
    if (++n > 80) {
      out += "...";
      break;
    }
    if (c == '"' || c == '\\') out.push_back('\\');
    if (static_cast<unsigned char>(c) < 0x20) {
      out += fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
      continue;
    }
    out.push_back(c);
  }
  return out + "\"";
}

}  // namespace

bool isMergeKey(const YamlNode& key) {
  return key.IsScalar() && key.Tag() != "!" && key.Scalar() == "<<";
}

namespace {
constexpr int kMaxMergeDepth = 8;
constexpr int kMaxMergedMaps = 64;

bool hasMergeKey(const YamlNode& map) {
  for (size_t i = 0; i < map.size(); ++i)
    if (isMergeKey(map.key(i))) return true;
  return false;
}

// `budget` bounds the mappings visited: merge keys can reference the same anchor many times over
// and nest ("<<: [*a, *a, ...]" at every level), which would otherwise grow exponentially.
void collectEntries(const YamlNode& map, std::vector<MapEntry>& out,
                    std::set<std::string_view>& seen, int depth, int& budget) {
  if (--budget < 0) return;
  std::vector<YamlNode> merges;
  for (size_t i = 0; i < map.size(); ++i) {
    YamlNode k = map.key(i);
    if (isMergeKey(k)) {
      merges.push_back(map.value(i));
      continue;
    }
    if (k.IsScalar() && !seen.emplace(k.Scalar()).second) continue;  // overridden
    out.push_back(MapEntry{k, map.value(i)});
  }
  if (depth >= kMaxMergeDepth) return;
  for (const YamlNode& m : merges) {
    // "<<: *a" merges one mapping, "<<: [*a, *b]" several, earlier ones taking precedence.
    if (m.IsMap()) {
      collectEntries(m, out, seen, depth + 1, budget);
    } else if (m.IsSequence()) {
      for (size_t i = 0; i < m.size(); ++i) {
        YamlNode item = m.item(i);
        if (item.IsMap()) collectEntries(item, out, seen, depth + 1, budget);
      }
    }
  }
}
}  // namespace

std::vector<MapEntry> mapEntries(const YamlNode& map) {
  std::vector<MapEntry> out;
  if (!map.IsMap()) return out;
  if (!hasMergeKey(map)) {
    out.reserve(map.size());
    for (size_t i = 0; i < map.size(); ++i) out.push_back(MapEntry{map.key(i), map.value(i)});
    return out;
  }
  std::set<std::string_view> seen;
  int budget = kMaxMergedMaps;
  collectEntries(map, out, seen, 0, budget);
  return out;
}

ScalarKind classifyScalar(const YamlNode& n) {
  if (!n.IsDefined() || n.IsNull()) return ScalarKind::kNull;
  if (!n.IsScalar()) return ScalarKind::kString;
  std::string_view tag = n.Tag();
  std::string_view s = text(n);
  if (tag == "!" || tag == "tag:yaml.org,2002:str" || tag == "tag:yaml.org,2002:binary")
    return ScalarKind::kString;
  if (tag == "tag:yaml.org,2002:int") return ScalarKind::kInt;
  if (tag == "tag:yaml.org,2002:float") return ScalarKind::kFloat;
  if (tag == "tag:yaml.org,2002:bool") return ScalarKind::kBool;
  if (tag == "tag:yaml.org,2002:null") return ScalarKind::kNull;
  if (tag != "?" && !tag.empty()) return ScalarKind::kString;
  // Plain scalar: YAML 1.1 resolution as in go-yaml v2 (sigs.k8s.io/yaml).
  if (s.empty() || anyOf(s, {"~", "null", "Null", "NULL"})) return ScalarKind::kNull;
  if (anyOf(s, {"y",    "Y",    "yes",   "Yes",   "YES",   "n",  "N",  "no", "No",  "NO",  "true",
                "True", "TRUE", "false", "False", "FALSE", "on", "On", "ON", "off", "Off", "OFF"}))
    return ScalarKind::kBool;
  if (parseYamlInt(s)) return ScalarKind::kInt;
  if (looksFloat(s)) return ScalarKind::kFloat;
  return ScalarKind::kString;
}

bool patternMatches(const char* pattern, std::string_view s) {
  // Compiled once per pattern; RE2 objects are safe to share between threads. Each thread
  // remembers the last patterns it used by address (the patterns are literals), checked against
  // the text so that a reused address can never select another pattern's regex.
  struct Recent {
    const char* pattern = nullptr;
    const RE2* re = nullptr;
  };
  constexpr size_t kRecent = 32;
  thread_local Recent recent[kRecent];
  Recent& slot_hint = recent[(reinterpret_cast<uintptr_t>(pattern) >> 3) % kRecent];
  if (slot_hint.pattern == pattern && slot_hint.re->pattern() == pattern) {
    if (!slot_hint.re->ok()) return false;
    return RE2::PartialMatch(re2::StringPiece(s.data(), s.size()), *slot_hint.re);
  }
  static std::mutex mu;
  static std::unordered_map<std::string, std::unique_ptr<RE2>> cache;
  const RE2* re = nullptr;
  {
    std::lock_guard<std::mutex> lock(mu);
    auto& slot = cache[pattern];
    if (!slot) {
      RE2::Options opts;
      opts.set_log_errors(false);
      slot = std::make_unique<RE2>(pattern, opts);
    }
    re = slot.get();
  }
  slot_hint = Recent{pattern, re};
  if (!re->ok()) return false;
  return RE2::PartialMatch(re2::StringPiece(s.data(), s.size()), *re);
}

size_t utf8Length(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}

void Decoder::fail(int line, std::string path, std::string message) {
  ValidationError e;
  e.file = file_;
  e.line = line > 0 ? line : object_line_;
  e.object = object_;
  e.field = std::move(path);
  e.message = std::move(message);
  errors_.push_back(std::move(e));
}

int Decoder::lineOf(const YamlNode& n, int fallback) const {
  if (!n.IsDefined() || n.IsNull()) return fallback;
  int l = n.Mark().line;
  if (l < 0) return fallback;
  // Marks are 0-based and relative to the document; line_offset_ is the document's first line.
  return l + line_offset_;
}

bool Decoder::object(const V& v) {
  if (!v.has()) return false;
  if (!v.n.IsMap()) {
    fail(v, fmt::format("Invalid value: \"{}\": must be of type object", typeName(v.n)));
    return false;
  }
  return true;
}

V Decoder::field(const V& parent, std::string_view key) const {
  std::string path = parent.path.empty() ? std::string(key) : parent.path + "." + std::string(key);
  if (parent.has() && parent.n.IsMap()) {
    bool merges = false;
    for (size_t i = 0; i < parent.n.size(); ++i) {
      YamlNode k = parent.n.key(i);
      if (isMergeKey(k)) {
        merges = true;
      } else if (k.IsScalar() && k.Scalar() == key) {
        return V{parent.n.value(i), std::move(path), lineOf(k, parent.line)};
      }
    }
    if (merges) {
      for (const MapEntry& e : mapEntries(parent.n)) {
        if (e.key.IsScalar() && e.key.Scalar() == key) {
          return V{e.value, std::move(path), lineOf(e.key, parent.line)};
        }
      }
    }
  }
  return V{YamlNode(), std::move(path), parent.line};
}

void Decoder::noDuplicates(const V& parent) {
  if (!parent.has() || !parent.n.IsMap()) return;
  std::set<std::string_view> seen;
  for (size_t i = 0; i < parent.n.size(); ++i) {
    YamlNode k = parent.n.key(i);
    if (!k.IsScalar()) {
      fail(lineOf(k, parent.line), parent.path, "mapping keys must be strings");
      continue;
    }
    std::string_view name = k.Scalar();
    if (!seen.insert(name).second) {
      fail(lineOf(k, parent.line),
           parent.path.empty() ? std::string(name) : parent.path + "." + std::string(name),
           "duplicate field");
    }
  }
}

void Decoder::strict(const V& parent, std::initializer_list<std::string_view> known) {
  if (!parent.has() || !parent.n.IsMap()) return;
  std::set<std::string_view> seen;
  bool has_merges = false;
  for (size_t i = 0; i < parent.n.size(); ++i) {
    YamlNode k = parent.n.key(i);
    if (!k.IsScalar()) {
      fail(lineOf(k, parent.line), parent.path, "mapping keys must be strings");
      continue;
    }
    std::string_view name = k.Scalar();
    // The field's path only when there is something to report (most keys are fine).
    auto path = [&] {
      return parent.path.empty() ? std::string(name) : parent.path + "." + std::string(name);
    };
    if (isMergeKey(k)) {
      has_merges = true;
      YamlNode m = parent.n.value(i);
      bool ok = m.IsMap();
      if (m.IsSequence()) {
        ok = true;
        for (size_t j = 0; j < m.size(); ++j) ok = ok && m.item(j).IsMap();
      }
      if (!ok) fail(lineOf(k, parent.line), path(), "a merge key (<<) must refer to mappings");
      continue;
    }
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      seen.insert(name);  // reported here, not again by the merged-keys pass below
      fail(lineOf(k, parent.line), path(), "unknown field");
    } else if (!seen.insert(name).second) {
      fail(lineOf(k, parent.line), path(), "duplicate field");
    }
  }
  if (!has_merges) return;
  // Keys brought in by merge keys obey the same schema.
  for (const MapEntry& e : mapEntries(parent.n)) {
    if (!e.key.IsScalar() || seen.count(e.key.Scalar())) continue;
    std::string_view name = e.key.Scalar();
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      fail(lineOf(e.key, parent.line),
           parent.path.empty() ? std::string(name) : parent.path + "." + std::string(name),
           "unknown field");
    }
  }
}

bool Decoder::require(const V& v) {
  if (v.has()) return true;
  fail(v, "Required value");
  return false;
}

std::optional<std::string> Decoder::str(const V& v, const StrSpec& spec) {
  if (!v.has()) return std::nullopt;
  if (!v.n.IsScalar() || classifyScalar(v.n) != ScalarKind::kString) {
    std::string hint;
    if (v.n.IsScalar()) {
      // The usual surprise: YAML 1.1 (which kubectl's YAML-to-JSON step uses) reads unquoted
      // y/yes/on/off, numbers and the like as non-strings.
      hint = fmt::format(" (quote it: YAML reads {} as a {})", quote(text(v.n)), typeName(v.n));
    }
    fail(v, fmt::format("Invalid value: \"{}\": must be of type string{}", typeName(v.n), hint));
    return std::nullopt;
  }
  std::string_view s = text(v.n);
  bool ok = true;
  if (!spec.enum_values.empty()) {
    if (std::find(spec.enum_values.begin(), spec.enum_values.end(), s) == spec.enum_values.end()) {
      std::string supported;
      for (auto e : spec.enum_values) {
        if (!supported.empty()) supported += ", ";
        supported += quote(e);
      }
      fail(v, fmt::format("Unsupported value: {}: supported values: {}", quote(s), supported));
      return std::nullopt;
    }
  }
  size_t len = utf8Length(s);
  if (spec.max_len >= 0 && len > static_cast<size_t>(spec.max_len)) {
    fail(v, fmt::format("Too long: may not be more than {} bytes", spec.max_len));
    ok = false;
  } else if (len < static_cast<size_t>(spec.min_len)) {
    fail(v, fmt::format("Invalid value: {}: should be at least {} chars long", quote(s),
                        spec.min_len));
    ok = false;
  } else if (spec.pattern && !patternMatches(spec.pattern, s)) {
    fail(v, fmt::format("Invalid value: {}: should match '{}'", quote(s), spec.pattern));
    ok = false;
  }
  if (!ok) return std::nullopt;
  return std::string(s);
}

std::optional<int64_t> Decoder::integer(const V& v, std::optional<int64_t> min,
                                        std::optional<int64_t> max) {
  if (!v.has()) return std::nullopt;
  std::optional<int64_t> value;
  if (v.n.IsScalar() && classifyScalar(v.n) == ScalarKind::kInt) value = parseYamlInt(text(v.n));
  if (!value) {
    fail(v, fmt::format("Invalid value: \"{}\": must be of type integer", typeName(v.n)));
    return std::nullopt;
  }
  if (min && *value < *min) {
    fail(v, fmt::format("Invalid value: {}: should be greater than or equal to {}", *value, *min));
    return std::nullopt;
  }
  if (max && *value > *max) {
    fail(v, fmt::format("Invalid value: {}: should be less than or equal to {}", *value, *max));
    return std::nullopt;
  }
  return value;
}

std::optional<bool> Decoder::boolean(const V& v) {
  if (!v.has()) return std::nullopt;
  if (!v.n.IsScalar() || classifyScalar(v.n) != ScalarKind::kBool) {
    fail(v, fmt::format("Invalid value: \"{}\": must be of type boolean", typeName(v.n)));
    return std::nullopt;
  }
  std::string_view s = text(v.n);
  return anyOf(s, {"y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"});
}

std::vector<V> Decoder::list(const V& v, size_t min_items, size_t max_items) {
  std::vector<V> out;
  if (!v.has()) return out;  // absent or null: the caller decides whether it is required
  if (!v.n.IsSequence()) {
    fail(v, fmt::format("Invalid value: \"{}\": must be of type array", typeName(v.n)));
    return out;
  }
  size_t size = v.n.size();
  if (size > max_items) {
    fail(v, fmt::format("Too many: {}: must have at most {} items", size, max_items));
    return out;
  }
  if (size < min_items) {
    fail(v, fmt::format("Invalid value: {}: should have at least {} items", size, min_items));
    return out;
  }
  out.reserve(size);
  for (size_t i = 0; i < size; ++i) {
    YamlNode item = v.n.item(i);
    // "<path>[<i>]" without fmt: this runs for every list item of every object.
    char index[24];
    const char* end = std::to_chars(index, index + sizeof(index), i).ptr;
    std::string path;
    path.reserve(v.path.size() + static_cast<size_t>(end - index) + 2);
    path.append(v.path)
        .append(1, '[')
        .append(index, static_cast<size_t>(end - index))
        .append(1, ']');
    out.push_back(V{item, std::move(path), lineOf(item, v.line)});
  }
  return out;
}

std::map<std::string, std::string> Decoder::strMap(const V& v, const StrSpec& key_spec,
                                                   const StrSpec& value_spec, size_t max_props,
                                                   std::string_view key_message) {
  std::map<std::string, std::string> out;
  if (!object(v)) return out;
  noDuplicates(v);
  if (v.n.size() > max_props) {
    fail(v, fmt::format("Too many: {}: must have at most {} items", v.n.size(), max_props));
    return out;
  }
  for (const MapEntry& e : mapEntries(v.n)) {
    if (!e.key.IsScalar()) continue;  // reported by noDuplicates
    std::string key = e.key.Scalar();
    V kv{e.key, v.path, lineOf(e.key, v.line)};
    // Keys are always strings in JSON; check the key's own constraints.
    size_t len = utf8Length(key);
    if ((key_spec.max_len >= 0 && len > static_cast<size_t>(key_spec.max_len)) ||
        len < static_cast<size_t>(key_spec.min_len) ||
        (key_spec.pattern && !patternMatches(key_spec.pattern, key))) {
      fail(kv, key_message.empty() ? fmt::format("Invalid value: {}: key is not valid", quote(key))
                                   : fmt::format("Invalid value: \"object\": {}", key_message));
      continue;
    }
    V val{e.value, v.path + "." + key, lineOf(e.key, v.line)};
    if (!val.has()) {
      // JSON null in a map[string]string becomes "" in Go.
      out[key] = "";
      continue;
    }
    if (auto s = str(val, value_spec)) out[key] = *s;
  }
  return out;
}

std::vector<std::string> Decoder::strSet(const V& v, const StrSpec& item, size_t max_items) {
  std::vector<std::string> out;
  for (const V& it : list(v, 0, max_items)) {
    if (!require(it)) continue;
    auto s = str(it, item);
    if (!s) continue;
    if (std::find(out.begin(), out.end(), *s) != out.end()) {
      fail(it, fmt::format("Duplicate value: {}", quote(*s)));
      continue;
    }
    out.push_back(*s);
  }
  return out;
}

namespace {
constexpr uint64_t kFnvPrime = 0x100000001b3ULL;
constexpr int kMaxHashDepth = 100;
uint64_t mix(uint64_t h, std::string_view s) {
  // Length-prefixed so that ("ab","c") and ("a","bc") differ.
  uint64_t len = s.size();
  for (int i = 0; i < 8; ++i) {
    h ^= (len >> (8 * i)) & 0xff;
    h *= kFnvPrime;
  }
  for (unsigned char c : s) {
    h ^= c;
    h *= kFnvPrime;
  }
  return h;
}
}  // namespace

std::optional<uint64_t> canonicalHash(const YamlNode& n, uint64_t seed, size_t& budget, int depth) {
  // Real manifests nest a few dozen levels at most; an alias cycle (`a: &a [*a]`) nests forever.
  if (budget == 0 || depth > kMaxHashDepth) return std::nullopt;
  --budget;
  uint64_t h = seed;
  if (!n.IsDefined() || n.IsNull()) return mix(h, "n");
  switch (n.Type()) {
    case YamlType::kScalar: {
      ScalarKind k = classifyScalar(n);
      std::string_view text = n.Scalar();
      std::string number;
      if (k == ScalarKind::kInt) {
        if (auto i = parseYamlInt(text)) {
          number = std::to_string(*i);
          text = number;
        }
      }
      static constexpr std::string_view kKinds = "NBIFS";
      h = mix(h, kKinds.substr(static_cast<size_t>(k), 1));
      return mix(h, text);
    }
    case YamlType::kSequence: {
      h = mix(h, "[");
      for (size_t i = 0; i < n.size(); ++i) {
        auto c = canonicalHash(n.item(i), h, budget, depth + 1);
        if (!c) return std::nullopt;
        h = *c;
      }
      return mix(h, "]");
    }
    case YamlType::kMap: {
      std::vector<std::pair<std::string_view, size_t>> keys;
      std::vector<YamlNode> values;
      for (const MapEntry& e : mapEntries(n)) {
        if (!e.key.IsScalar()) continue;
        keys.emplace_back(e.key.Scalar(), values.size());
        values.push_back(e.value);
      }
      std::sort(keys.begin(), keys.end());
      h = mix(h, "{");
      for (const auto& [k, idx] : keys) {
        const YamlNode& val = values[idx];
        if (!val.IsDefined() || val.IsNull()) continue;  // null == absent
        h = mix(h, k);
        auto c = canonicalHash(val, h, budget, depth + 1);
        if (!c) return std::nullopt;
        h = *c;
      }
      return mix(h, "}");
    }
    default:
      return mix(h, "n");
  }
}

namespace specs {
#define GANTRY_DNS_SUBDOMAIN R"([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)"
const StrSpec kHostname{1, 253, "^(\\*\\.)?" GANTRY_DNS_SUBDOMAIN "$", {}};
const StrSpec kPreciseHostname{1, 253, "^" GANTRY_DNS_SUBDOMAIN "$", {}};
const StrSpec kGroup{0, 253, "^$|^" GANTRY_DNS_SUBDOMAIN "$", {}};
const StrSpec kKind{1, 63, R"(^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$)", {}};
const StrSpec kObjectName{1, 253, nullptr, {}};
const StrSpec kNamespace{1, 63, R"(^[a-z0-9]([-a-z0-9]*[a-z0-9])?$)", {}};
const StrSpec kSectionName{1, 253, "^" GANTRY_DNS_SUBDOMAIN "$", {}};
const StrSpec kHeaderName{1, 256, R"(^[A-Za-z0-9!#$%&'*+\-.^_\x60|~]+$)", {}};
const StrSpec kDuration{0, -1, R"(^([0-9]{1,5}(h|m|s|ms)){1,4}$)", {}};
const StrSpec kGatewayController{
    1, 253, "^" GANTRY_DNS_SUBDOMAIN R"(\/[A-Za-z0-9\/\-._~%!$&'()*+,;=:]+$)", {}};
// Qualified names (label and annotation keys): an optional DNS-subdomain prefix and "/", then a
// name segment of at most 63 characters (the CEL rules on Gateway spec.infrastructure).
const StrSpec kAnnotationKey{
    1,
    317,
    R"(^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9]$)",
    {}};
const StrSpec kAnnotationValue{0, 4096, nullptr, {}};
const StrSpec kLabelKey = kAnnotationKey;
const StrSpec kLabelValue{0, 63, R"(^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$)", {}};
const StrSpec kAbsoluteUri{
    1, 253, R"(^(([^:/?#]+):)(//([^/?#]*))([^?#]*)(\?([^#]*))?(#(.*))?)", {}};
const StrSpec kCorsOrigin{
    1,
    253,
    R"((^\*$)|(^(http(s)?):\/\/(((\*\.)?([a-zA-Z0-9\-]+\.)*[a-zA-Z0-9-]+|\*)(:([0-9]{1,5}))?)$))",
    {}};
const StrSpec kAddressType{1,
                           253,
                           "^Hostname|IPAddress|NamedAddress|" GANTRY_DNS_SUBDOMAIN
                           R"(\/[A-Za-z0-9\/\-._~%!$&'()*+,;=:]+$)",
                           {}};
const StrSpec kAny{};
const StrSpec kAnyKey{};
#undef GANTRY_DNS_SUBDOMAIN
}  // namespace specs

}  // namespace gantry::api::detail
