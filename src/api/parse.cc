// Manifest parsing: splits a file into YAML documents, dispatches each object on (group, kind),
// validates metadata and hands the body to the kind's decoder (kinds.h).
#include "api/parse.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>
#include <functional>
#include <sstream>

#include <fmt/format.h>

#include "api/decoder.h"
#include "api/kinds.h"
#include "api/yaml_tree.h"

namespace gantry::api {

std::string ValidationError::toString() const {
  std::string out = file.empty() ? std::string("<input>") : file;
  if (line > 0) out += fmt::format(":{}", line);
  out += ": ";
  if (!object.empty()) out += object + ": ";
  if (!field.empty()) out += field + ": ";
  out += message;
  return out;
}

namespace {

using detail::Decoder;
using detail::V;
using detail::YamlNode;
namespace specs = detail::specs;

constexpr const char* kGatewayGroup = "gateway.networking.k8s.io";
// Nodes a single document's spec may visit while hashing: far above any real manifest, low enough
// that YAML alias bombs ("billion laughs") cannot stall the provider.
constexpr size_t kHashBudget = 200'000;
// Nesting of `kind: List` inside `kind: List`.
constexpr int kMaxListDepth = 4;

struct KindInfo {
  std::string_view group;
  std::string_view kind;
  std::vector<std::string_view> versions;  // served versions
  bool namespaced;
  bool strict;  // Gateway API CRDs: unknown fields rejected (kubectl --validate=strict)
};

const std::vector<KindInfo>& kindTable() {
  // Served versions: config/crd/experimental of Gateway API v1.6 (spec.versions[].served).
  static const std::vector<KindInfo> table = {
      {kGatewayGroup, "GatewayClass", {"v1", "v1beta1"}, false, true},
      {kGatewayGroup, "Gateway", {"v1", "v1beta1"}, true, true},
      {kGatewayGroup, "ListenerSet", {"v1"}, true, true},
      {kGatewayGroup, "HTTPRoute", {"v1", "v1beta1"}, true, true},
      {kGatewayGroup, "GRPCRoute", {"v1"}, true, true},
      {kGatewayGroup, "TLSRoute", {"v1", "v1alpha2", "v1alpha3"}, true, true},
      {kGatewayGroup, "TCPRoute", {"v1", "v1alpha2"}, true, true},
      {kGatewayGroup, "UDPRoute", {"v1", "v1alpha2"}, true, true},
      {kGatewayGroup, "ReferenceGrant", {"v1", "v1beta1"}, true, true},
      {kGatewayGroup, "BackendTLSPolicy", {"v1", "v1alpha3"}, true, true},
      {"", "Namespace", {"v1"}, false, false},
      {"", "Service", {"v1"}, true, false},
      {"", "Secret", {"v1"}, true, false},
      {"", "ConfigMap", {"v1"}, true, false},
      {"discovery.k8s.io", "EndpointSlice", {"v1"}, true, false},
  };
  return table;
}

// Raw peek at a scalar child, without validation (for naming the object in messages).
std::string peek(const YamlNode& map, std::string_view key) {
  if (!map.IsMap()) return "";
  for (size_t i = 0; i < map.size(); ++i) {
    if (map.key(i).IsScalar() && map.key(i).Scalar() == key) return map.value(i).Scalar();
  }
  return "";
}

YamlNode child(const YamlNode& map, std::string_view key) {
  if (!map.IsMap()) return YamlNode();
  for (size_t i = 0; i < map.size(); ++i) {
    if (map.key(i).IsScalar() && map.key(i).Scalar() == key) return map.value(i);
  }
  return YamlNode();
}

bool isRfc3339(const std::string& s) {
  return detail::patternMatches(
      R"(^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$)",
      s);
}

// Label and annotation keys: a qualified name whose optional prefix is a DNS subdomain of at most
// 253 characters (apimachinery validation.IsQualifiedName).
bool qualifiedKeyOk(Decoder& d, const V& v, const std::map<std::string, std::string>& m) {
  bool ok = true;
  for (const auto& [k, _] : m) {
    auto slash = k.find('/');
    if (slash != std::string::npos && slash > 253) {
      d.fail(v, fmt::format("Invalid value: \"{}\": prefix part must be no more than 253 "
                            "characters",
                            k));
      ok = false;
    }
  }
  return ok;
}

void decodeMeta(Decoder& d, const V& meta, const KindInfo& info, ObjectMeta& out) {
  if (!d.require(meta) || !d.object(meta)) return;
  d.noDuplicates(meta);
  V name = d.field(meta, "name");
  if (auto s = d.reqStr(name)) {
    bool ok = info.kind == "Namespace" ? detail::isDnsLabel(*s)
              : info.kind == "Service" ? detail::isDns1035Label(*s)
                                       : detail::isDnsSubdomain(*s);
    if (!ok) {
      d.fail(name, fmt::format("Invalid value: \"{}\": {}", *s,
                               info.kind == "Namespace" ? "a lowercase RFC 1123 label must "
                                                          "consist of lower case alphanumeric "
                                                          "characters or '-', at most 63"
                               : info.kind == "Service"
                                   ? "a DNS-1035 label must consist of lower case alphanumeric "
                                     "characters or '-', start with a letter, at most 63"
                                   : "a lowercase RFC 1123 subdomain must consist of lower case "
                                     "alphanumeric characters, '-' or '.', at most 253"));
    }
    out.name = *s;
  }
  V ns = d.field(meta, "namespace");
  if (info.namespaced) {
    out.namespace_ = "default";
    if (auto s = d.str(ns)) {
      if (!detail::isDnsLabel(*s)) {
        d.fail(ns, fmt::format("Invalid value: \"{}\": a lowercase RFC 1123 label must consist "
                               "of lower case alphanumeric characters or '-', at most 63",
                               *s));
      }
      if (!s->empty()) out.namespace_ = *s;
    }
  } else {
    out.namespace_.clear();  // cluster-scoped: a namespace in the manifest is ignored
  }
  V labels = d.field(meta, "labels");
  out.labels = d.strMap(labels, specs::kLabelKey, specs::kLabelValue);
  qualifiedKeyOk(d, labels, out.labels);
  V annotations = d.field(meta, "annotations");
  out.annotations = d.strMap(annotations, specs::kAnnotationKey, specs::kAny);
  qualifiedKeyOk(d, annotations, out.annotations);
  size_t total = 0;
  for (const auto& [k, v] : out.annotations) total += k.size() + v.size();
  if (total > 256 * 1024) {
    d.fail(annotations, "Too long: must have at most 262144 bytes");
  }
  if (auto g = d.integer(d.field(meta, "generation"), 0)) out.generation = *g;
  V ts = d.field(meta, "creationTimestamp");
  if (auto s = d.str(ts)) {
    if (!isRfc3339(*s)) {
      d.fail(ts, fmt::format("Invalid value: \"{}\": must be an RFC 3339 date-time", *s));
    } else {
      out.creation_timestamp = *s;
    }
  }
  if (auto s = d.str(d.field(meta, "uid"))) out.uid = *s;
  if (auto s = d.str(d.field(meta, "resourceVersion"))) out.resource_version = *s;
}

// Fingerprint of the parts of an object that make up its "spec" (see ObjectMeta::spec_hash).
uint64_t payloadHash(Decoder& d, const V& root, const KindInfo& info) {
  static const std::vector<std::string_view> kSpec = {"spec"};
  static const std::vector<std::string_view> kEndpointSlice = {"addressType", "endpoints", "ports"};
  static const std::vector<std::string_view> kSecret = {"type", "data", "stringData"};
  static const std::vector<std::string_view> kConfigMap = {"data", "binaryData"};
  const auto& keys = info.kind == "EndpointSlice" ? kEndpointSlice
                     : info.kind == "Secret"      ? kSecret
                     : info.kind == "ConfigMap"   ? kConfigMap
                                                  : kSpec;
  uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a offset basis
  size_t budget = kHashBudget;
  for (auto key : keys) {
    // Stable across processes and builds (no std::hash): FNV-1a of the key name.
    for (unsigned char c : key) h = (h ^ c) * 0x100000001b3ULL;
    auto r = detail::canonicalHash(child(root.n, key), h, budget);
    if (!r) {
      d.fail(root,
             "document too large or too deeply nested to process (more than 200000 "
             "nodes after alias expansion, or more than 100 levels)");
      return 0;
    }
    h = *r;
  }
  return h;
}

struct DocRef {
  const std::string& file;
  int line_offset;  // file line of the document's line 0
};

void parseObject(const YamlNode& node, const DocRef& doc, ParseResult& out, int list_depth);

void parseList(const YamlNode& node, const DocRef& doc, ParseResult& out, int list_depth,
               int line) {
  Decoder d(doc.file, "List", line, doc.line_offset, out.errors);
  V root{node, "", line};
  V items = d.field(root, "items");
  if (list_depth >= kMaxListDepth) {
    d.fail(root, "List nested too deeply");
    return;
  }
  for (const V& item : d.list(items)) {
    if (!item.has()) continue;
    if (!item.n.IsMap()) {
      d.fail(item, "Invalid value: list items must be objects");
      continue;
    }
    parseObject(item.n, doc, out, list_depth + 1);
  }
}

template <typename T, typename F>
void finish(Decoder& d, T& obj, std::vector<T>& into, F&& decode) {
  decode();
  if (!d.failed()) into.push_back(std::move(obj));
}

void parseObject(const YamlNode& node, const DocRef& doc, ParseResult& out, int list_depth) {
  int line = node.Mark().line >= 0 ? node.Mark().line + doc.line_offset : doc.line_offset;
  if (!node.IsMap()) {
    Decoder d(doc.file, "", line, doc.line_offset, out.errors);
    d.fail(line, "", "not a Kubernetes object (expected a mapping with apiVersion and kind)");
    return;
  }
  std::string api_version = peek(node, "apiVersion");
  std::string kind = peek(node, "kind");
  std::string name = peek(child(node, "metadata"), "name");
  std::string ns = peek(child(node, "metadata"), "namespace");
  // `kind: List` (what `kubectl get -o yaml` prints) and typed lists such as HTTPRouteList: like
  // kubectl, any *List object with an items array is a list of objects.
  if (kind.ends_with("List") && child(node, "items").IsSequence()) {
    parseList(node, doc, out, list_depth, line);
    return;
  }
  std::string group, version = api_version;
  if (auto slash = api_version.find('/'); slash != std::string::npos) {
    group = api_version.substr(0, slash);
    version = api_version.substr(slash + 1);
  }
  const KindInfo* info = nullptr;
  bool kind_known_elsewhere = false;
  for (const auto& k : kindTable()) {
    if (k.kind != kind) continue;
    // "apiVersion: gateway.networking.k8s.io" (group without version) is a mistake about a kind
    // gantry serves, not some other group's kind: reported below as an unserved version.
    if (k.group == group || (!k.group.empty() && api_version == k.group)) info = &k;
    kind_known_elsewhere = true;
  }
  if (kind.empty() || api_version.empty()) {
    Decoder d(doc.file, kind.empty() ? "" : kind + " " + name, line, doc.line_offset, out.errors);
    V root{node, "", line};
    d.fail(d.field(root, kind.empty() ? "kind" : "apiVersion"),
           kind.empty() ? "Required value: Object 'Kind' is missing"
                        : "Required value: Object 'apiVersion' is missing");
    return;
  }
  if (!info) {
    spdlog::debug("{}:{}: skipping {} {} (kind not handled by gantry{})", doc.file, line,
                  api_version, kind, kind_known_elsewhere ? " in this group" : "");
    return;
  }
  std::string object_label =
      info->namespaced
          ? fmt::format("{} {}/{}", kind, ns.empty() ? "default" : ns, name.empty() ? "?" : name)
          : fmt::format("{} {}", kind, name.empty() ? "?" : name);
  Decoder d(doc.file, object_label, line, doc.line_offset, out.errors);
  V root{node, "", line};
  bool served = false;
  for (auto v : info->versions) served = served || v == version;
  if (!served) {
    d.fail(d.field(root, "apiVersion"),
           fmt::format("no matches for kind \"{}\" in version \"{}\"", kind, api_version));
    return;
  }
  if (info->strict) {
    d.strict(root, {"apiVersion", "kind", "metadata", "spec", "status"});
  } else {
    d.noDuplicates(root);
  }
  ObjectMeta meta;
  decodeMeta(d, d.field(root, "metadata"), *info, meta);
  meta.spec_hash = payloadHash(d, root, *info);
  SourceLocation source{doc.file, line};
  ObjectSet& os = out.objects;
  auto fill = [&](auto& obj) {
    obj.metadata = meta;
    obj.source = source;
  };
  if (kind == "GatewayClass") {
    GatewayClass o;
    fill(o);
    finish(d, o, os.gateway_classes, [&] { detail::decodeGatewayClass(d, root, version, o); });
  } else if (kind == "Gateway") {
    Gateway o;
    fill(o);
    finish(d, o, os.gateways, [&] { detail::decodeGateway(d, root, version, o); });
  } else if (kind == "ListenerSet") {
    ListenerSet o;
    fill(o);
    finish(d, o, os.listener_sets, [&] { detail::decodeListenerSet(d, root, version, o); });
  } else if (kind == "HTTPRoute") {
    HttpRoute o;
    fill(o);
    finish(d, o, os.http_routes, [&] { detail::decodeHttpRoute(d, root, version, o); });
  } else if (kind == "GRPCRoute") {
    GrpcRoute o;
    fill(o);
    finish(d, o, os.grpc_routes, [&] { detail::decodeGrpcRoute(d, root, version, o); });
  } else if (kind == "TLSRoute" || kind == "TCPRoute" || kind == "UDPRoute") {
    L4Route o;
    fill(o);
    o.kind = kind;
    finish(d, o, os.l4_routes, [&] { detail::decodeL4Route(d, root, version, o); });
  } else if (kind == "ReferenceGrant") {
    ReferenceGrant o;
    fill(o);
    finish(d, o, os.reference_grants, [&] { detail::decodeReferenceGrant(d, root, version, o); });
  } else if (kind == "BackendTLSPolicy") {
    BackendTlsPolicy o;
    fill(o);
    finish(d, o, os.backend_tls_policies,
           [&] { detail::decodeBackendTlsPolicy(d, root, version, o); });
  } else if (kind == "Namespace") {
    Namespace o;
    fill(o);
    finish(d, o, os.namespaces, [&] { detail::decodeNamespace(d, root, o); });
  } else if (kind == "Service") {
    Service o;
    fill(o);
    finish(d, o, os.services, [&] { detail::decodeService(d, root, o); });
  } else if (kind == "EndpointSlice") {
    EndpointSlice o;
    fill(o);
    finish(d, o, os.endpoint_slices, [&] { detail::decodeEndpointSlice(d, root, o); });
  } else if (kind == "Secret") {
    Secret o;
    fill(o);
    finish(d, o, os.secrets, [&] { detail::decodeSecret(d, root, o); });
  } else if (kind == "ConfigMap") {
    ConfigMap o;
    fill(o);
    finish(d, o, os.config_maps, [&] { detail::decodeConfigMap(d, root, o); });
  }
}

// One YAML document's text and the file line it starts on.
struct Piece {
  std::string text;
  int first_line = 1;
};

bool isDocumentStart(std::string_view line) {
  if (!line.starts_with("---")) return false;
  return line.size() == 3 || line[3] == ' ' || line[3] == '\t' || line[3] == '\r' ||
         line[3] == '\n';
}

bool isDocumentEnd(std::string_view line) {
  if (!line.starts_with("...")) return false;
  return line.size() == 3 || line[3] == ' ' || line[3] == '\t' || line[3] == '\r' ||
         line[3] == '\n';
}

// Splits a stream at "---" lines (and after "..." lines) so that a syntax error in one document
// does not hide the others; used when the stream does not parse as a whole.
std::vector<Piece> splitDocuments(std::string_view content) {
  if (content.starts_with("\xEF\xBB\xBF")) content.remove_prefix(3);  // UTF-8 BOM
  std::vector<Piece> pieces;
  pieces.push_back(Piece{"", 1});
  int line_no = 1;
  size_t pos = 0;
  while (pos < content.size()) {
    size_t end = content.find('\n', pos);
    size_t next = end == std::string_view::npos ? content.size() : end + 1;
    std::string_view line = content.substr(pos, next - pos);
    if (isDocumentStart(line) && !pieces.back().text.empty()) {
      pieces.push_back(Piece{"", line_no});
    }
    pieces.back().text.append(line);
    if (isDocumentEnd(line)) pieces.push_back(Piece{"", line_no + 1});
    ++line_no;
    pos = next;
  }
  return pieces;
}

// True when a document's text holds anything but comments, markers, directives and null.
bool hasContent(std::string_view text) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.starts_with("---") || line.starts_with("...")) line.remove_prefix(3);
    if (line.starts_with("%")) continue;
    if (auto hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r'))
      line.remove_suffix(1);
    if (line.empty() || line == "~" || line == "null" || line == "Null" || line == "NULL") continue;
    return true;
  }
  return false;
}

void syntaxError(const SourceFile& file, int line, std::string_view message, ParseResult& out) {
  ValidationError err;
  err.file = file.path;
  err.line = line;
  err.message = fmt::format("invalid YAML: {}", message);
  out.errors.push_back(std::move(err));
}

// Decodes one document's objects. Catch-all: nothing from a manifest may take the control plane
// down. The decoders do not throw by construction; this guards against allocation failure.
void parseDocument(const SourceFile& file, const YamlNode& root, const DocRef& ref, int line,
                   ParseResult& out) {
  size_t errors_before = out.errors.size();
  try {
    parseObject(root, ref, out, 0);
  } catch (const std::exception& e) {
    out.errors.resize(errors_before);
    ValidationError err;
    err.file = file.path;
    err.line = line;
    err.message = fmt::format("internal error while parsing: {}", e.what());
    out.errors.push_back(std::move(err));
  } catch (...) {
    out.errors.resize(errors_before);
    ValidationError err;
    err.file = file.path;
    err.line = line;
    err.message = "internal error while parsing";
    out.errors.push_back(std::move(err));
  }
}

// One piece of a file that did not parse as a whole (splitDocuments): at most one document.
void parsePiece(const SourceFile& file, const Piece& piece, ParseResult& out) {
  detail::YamlStream stream;
  bool ok = false;
  try {
    ok = stream.parse(piece.text);
  } catch (const std::exception& e) {
    syntaxError(file, piece.first_line, e.what(), out);
    return;
  }
  if (!ok) {
    syntaxError(file, piece.first_line + stream.error().line, stream.error().message, out);
    return;
  }
  bool any = false;
  DocRef ref{file.path, piece.first_line};
  for (const auto& doc : stream.documents()) {
    if (doc.root.IsNull()) continue;  // empty document
    any = true;
    parseDocument(file, doc.root, ref, piece.first_line, out);
  }
  if (!any && hasContent(piece.text)) {
    syntaxError(file, piece.first_line, "no document could be read", out);
  }
}

}  // namespace

void parseFile(const SourceFile& file, ParseResult& out) {
  std::string_view content = file.content;
  if (content.starts_with("\xEF\xBB\xBF")) content.remove_prefix(3);  // UTF-8 BOM
  // The common case: the whole stream parses, and its documents are decoded in order. Lines of
  // the whole-stream parse are 0-based file lines, hence the offset of 1.
  {
    detail::YamlStream stream;
    bool ok = false;
    try {
      ok = stream.parse(content);
    } catch (const std::exception&) {
      ok = false;
    }
    if (ok) {
      DocRef ref{file.path, 1};
      for (const auto& doc : stream.documents()) {
        if (doc.root.IsNull()) continue;  // empty document
        parseDocument(file, doc.root, ref, doc.line + 1, out);
      }
      return;
    }
  }
  // A syntax error somewhere: read document by document, so that the error is reported in its
  // own document and the other documents still count.
  for (const Piece& piece : splitDocuments(content)) parsePiece(file, piece, out);
}

ParseResult parseFiles(const std::vector<SourceFile>& files) {
  ParseResult out;
  for (const auto& f : files) parseFile(f, out);
  return out;
}

}  // namespace gantry::api
