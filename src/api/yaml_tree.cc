#include "api/yaml_tree.h"

#include <libfyaml.h>

#include <cstring>
#include <utility>

namespace gantry::api::detail {

namespace {

// libfyaml's parser with its diagnostics collected (never printed). One per thread, reused across
// files: creating a parser costs more than parsing a small manifest. Replaced after an error, so
// that the collected errors always belong to the last parse.
class Parser {
 public:
  Parser() {
    fy_diag_cfg dcfg;
    fy_diag_cfg_default(&dcfg);
    dcfg.fp = nullptr;
    dcfg.output_fn = [](fy_diag*, void*, const char*, size_t) {};
    dcfg.level = FYET_ERROR;
    diag_ = fy_diag_create(&dcfg);
    if (diag_) fy_diag_set_collect_errors(diag_, true);
    fy_parse_cfg cfg{};
    // YAML 1.2 like yaml-cpp (scalar resolution is the decoder's, YAML 1.1 like kubectl);
    // duplicate keys are kept and reported by the decoder as "duplicate field"; JSON is read as
    // the YAML it is (no JSON mode by file name: the text may come from anywhere).
    cfg.flags =
        static_cast<fy_parse_cfg_flags>(FYPCF_QUIET | FYPCF_DEFAULT_VERSION_AUTO | FYPCF_JSON_NONE |
                                        FYPCF_ALLOW_DUPLICATE_KEYS | FYPCF_DISABLE_MMAP_OPT);
    cfg.diag = diag_;
    parser_ = fy_parser_create(&cfg);
  }
  ~Parser() {
    if (parser_) fy_parser_destroy(parser_);
    if (diag_) fy_diag_destroy(diag_);
  }
  Parser(const Parser&) = delete;
  Parser& operator=(const Parser&) = delete;

  fy_parser* get() const { return parser_; }
  fy_diag* diag() const { return diag_; }

 private:
  fy_diag* diag_ = nullptr;
  fy_parser* parser_ = nullptr;
};

thread_local std::unique_ptr<Parser> t_parser;

std::string_view tokenText(fy_token* t) {
  if (!t) return {};
  size_t len = 0;
  const char* p = fy_token_get_text(t, &len);
  return p ? std::string_view(p, len) : std::string_view();
}

int tokenLine(fy_token* t) {
  if (!t) return -1;
  const fy_mark* m = fy_token_start_mark(t);
  return m ? m->line : -1;
}

// Well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, at most U+10FFFF). Returns the
// offset of the first bad byte, or npos.
size_t invalidUtf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // bounds of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return i;
    }
    if (i + len > n || p[i + 1] < lo || p[i + 1] > hi) return i;
    for (size_t k = 2; k < len; ++k)
      if ((p[i + k] & 0xC0) != 0x80) return i;
    i += len;
  }
  return std::string_view::npos;
}

bool isNullString(std::string_view s) {
  return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL";
}

// Builds the trees from the event stream.
class Builder {
 public:
  Builder(std::pmr::memory_resource* arena) : arena_(arena) {}

  std::string_view copy(std::string_view s) {
    if (s.empty()) return {};
    char* p = static_cast<char*>(arena_->allocate(s.size(), 1));
    std::memcpy(p, s.data(), s.size());
    return {p, s.size()};
  }

  YamlNodeData* make() {
    void* p = arena_->allocate(sizeof(YamlNodeData), alignof(YamlNodeData));
    return new (p) YamlNodeData();
  }

  // The node's line as yaml-cpp marked it: its first token, anchor and tag included.
  static int firstLine(fy_event* e, fy_token* anchor, fy_token* tag) {
    int line = -1;
    for (fy_token* t : {anchor, tag}) {
      int l = tokenLine(t);
      if (l >= 0 && (line < 0 || l < line)) line = l;
    }
    const fy_mark* m = fy_event_start_mark(e);
    if (m && (line < 0 || m->line < line)) line = m->line;
    return line;
  }

  // yaml-cpp's spelling of a node's tag.
  std::string_view tagOf(fy_token* tag, bool plain) {
    if (!tag) return plain ? "?" : "!";
    std::string_view t = tokenText(tag);
    if (t == "!") return "!";
    return copy(t);
  }

  void anchor(fy_token* a, const YamlNodeData* n) {
    if (!a) return;
    std::string_view name = tokenText(a);
    // A later anchor of the same name shadows the earlier one (YAML 1.2 section 3.2.2.2).
    anchors_.emplace_back(std::string(name), n);
  }

  const YamlNodeData* lookup(std::string_view name) const {
    for (auto it = anchors_.rbegin(); it != anchors_.rend(); ++it)
      if (it->first == name) return it->second;
    return nullptr;
  }

  // Adds a finished node to the open collection, or makes it the document's root.
  void add(const YamlNodeData* n) {
    if (open_.empty()) {
      root_ = n;
      return;
    }
    kids_.push_back(n);
  }

  void open(YamlNodeData* n) { open_.push_back(Open{n, kids_.size()}); }

  bool close() {
    if (open_.empty()) return false;
    Open o = open_.back();
    open_.pop_back();
    size_t count = kids_.size() - o.first_kid;
    if (o.node->type == YamlType::kMap && count % 2 != 0) return false;
    if (count > 0) {
      void* p = arena_->allocate(count * sizeof(const YamlNodeData*), alignof(const YamlNodeData*));
      auto** arr = static_cast<const YamlNodeData**>(p);
      std::memcpy(arr, kids_.data() + o.first_kid, count * sizeof(const YamlNodeData*));
      o.node->children = arr;
    }
    o.node->size = static_cast<uint32_t>(o.node->type == YamlType::kMap ? count / 2 : count);
    kids_.resize(o.first_kid);
    add(o.node);
    return true;
  }

  void startDocument() {
    anchors_.clear();
    open_.clear();
    kids_.clear();
    root_ = nullptr;
  }

  const YamlNodeData* root() const { return root_; }

 private:
  struct Open {
    YamlNodeData* node;
    size_t first_kid;
  };
  std::pmr::memory_resource* arena_;
  std::vector<std::pair<std::string, const YamlNodeData*>> anchors_;
  std::vector<Open> open_;
  std::vector<const YamlNodeData*> kids_;
  const YamlNodeData* root_ = nullptr;
};

}  // namespace

YamlStream::YamlStream() = default;
YamlStream::~YamlStream() = default;

bool YamlStream::parse(std::string_view text) {
  // YAML streams are Unicode (YAML 1.2 section 5.2), and kubectl's reader rejects invalid UTF-8
  // too. Checked here because libfyaml 0.7.12 loops forever on some invalid bytes (after a
  // reserved directive's name, for one).
  if (size_t bad = invalidUtf8(text); bad != std::string_view::npos) {
    int line = 0;
    for (size_t i = 0; i < bad; ++i) line += text[i] == '\n';
    error_ = Error{line, "invalid UTF-8"};
    return false;
  }
  if (!t_parser) t_parser = std::make_unique<Parser>();
  fy_parser* fyp = t_parser->get();
  if (!fyp) {
    error_ = Error{0, "cannot create the YAML parser"};
    return false;
  }
  fy_parser_reset(fyp);
  // An empty string is an empty stream; libfyaml wants a non-null pointer.
  if (fy_parser_set_string(fyp, text.empty() ? "" : text.data(), text.size()) != 0) {
    error_ = Error{0, "cannot read the input"};
    return false;
  }
  Builder b(&arena_);
  int doc_line = 0;
  bool failed = false;
  int fail_line = -1;
  std::string fail_message;
  auto fail = [&](int line, std::string message) {
    failed = true;
    fail_line = line;
    fail_message = std::move(message);
  };
  while (!failed) {
    fy_event* e = fy_parser_parse(fyp);
    if (!e) break;
    switch (e->type) {
      case FYET_DOCUMENT_START: {
        b.startDocument();
        const fy_mark* m = fy_event_start_mark(e);
        doc_line = m ? m->line : 0;
        break;
      }
      case FYET_DOCUMENT_END:
        documents_.push_back(Document{YamlNode(b.root()), doc_line});
        break;
      case FYET_SCALAR: {
        fy_token* value = e->scalar.value;
        bool plain = fy_token_scalar_style(value) == FYSS_PLAIN;
        std::string_view s = tokenText(value);
        YamlNodeData* n = b.make();
        n->line = Builder::firstLine(e, e->scalar.anchor, e->scalar.tag);
        n->tag = b.tagOf(e->scalar.tag, plain);
        // yaml-cpp: an untagged plain null string (or an empty node) is a Null node.
        n->type = plain && !e->scalar.tag && isNullString(s) ? YamlType::kNull : YamlType::kScalar;
        if (n->type == YamlType::kScalar) n->text = b.copy(s);
        b.anchor(e->scalar.anchor, n);
        b.add(n);
        break;
      }
      case FYET_SEQUENCE_START:
      case FYET_MAPPING_START: {
        bool map = e->type == FYET_MAPPING_START;
        fy_token* a = map ? e->mapping_start.anchor : e->sequence_start.anchor;
        fy_token* t = map ? e->mapping_start.tag : e->sequence_start.tag;
        YamlNodeData* n = b.make();
        n->type = map ? YamlType::kMap : YamlType::kSequence;
        n->line = Builder::firstLine(e, a, t);
        n->tag = b.tagOf(t, true);
        // Registered before its content: an alias inside refers to this node (a cycle, as in
        // yaml-cpp), which the decoder's depth and node budgets bound.
        b.anchor(a, n);
        b.open(n);
        break;
      }
      case FYET_SEQUENCE_END:
      case FYET_MAPPING_END:
        if (!b.close()) {
          const fy_mark* m = fy_event_start_mark(e);
          fail(m ? m->line : -1, "unbalanced collection");
        }
        break;
      case FYET_ALIAS: {
        std::string_view name = tokenText(e->alias.anchor);
        const YamlNodeData* target = b.lookup(name);
        if (!target) {
          const fy_mark* m = fy_event_start_mark(e);
          fail(m ? m->line : -1, "the referenced anchor is not defined");
          break;
        }
        b.add(target);
        break;
      }
      default:
        break;
    }
    fy_parser_event_free(fyp, e);
  }
  if (!failed && fy_parser_get_stream_error(fyp)) {
    fail(-1, "");
    void* it = nullptr;
    if (fy_diag* diag = t_parser->diag()) {
      while (fy_diag_error* err = fy_diag_errors_iterate(diag, &it)) {
        if (err->type != FYET_ERROR) continue;
        fail_line = err->line - 1;  // libfyaml's diagnostics count lines from 1
        fail_message = err->msg ? err->msg : "";
        break;
      }
    }
    if (fail_message.empty()) fail_message = "syntax error";
    // The collected diagnostics stay with the parser: start the next parse with a fresh one.
    t_parser.reset();
  }
  if (failed) {
    // An error found at the end of the input (an unclosed bracket or quote) is reported on the
    // last line that has text, not on the empty line after it.
    int last = 0, line = 0;
    for (char c : text) {
      if (c == '\n') {
        ++line;
      } else if (c != ' ' && c != '\t' && c != '\r') {
        last = line;
      }
    }
    if (fail_line < 0 || fail_line > last) fail_line = last;
    error_ = Error{fail_line, std::move(fail_message)};
    return false;
  }
  return true;
}

}  // namespace gantry::api::detail
