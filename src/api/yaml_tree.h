// Internal to src/api: YAML documents read with libfyaml's event parser into a compact read-only
// tree. Replaces yaml-cpp 0.7, whose scanner and node graph were most of the start-up time at
// 10,000 routes (bench/README.md "Control plane at scale": the same 4 MB parse, 5x less CPU).
//
// The tree keeps what the decoder needs and what yaml-cpp gave it: node kinds, scalar text, the
// tag as yaml-cpp spelled it ("?" for plain scalars, "!" for quoted and block scalars, otherwise
// the resolved tag such as "tag:yaml.org,2002:str"), 0-based line marks, duplicate keys kept in
// order (the decoder reports them), and aliases resolved to the anchored node itself (a node can
// be reached several times; an alias inside its own anchor makes a cycle, which every consumer
// bounds). Nodes live in the document's arena and are never modified after parsing.
//
// The accessors are named as yaml-cpp's (IsMap, Scalar, size...) so that the kind decoders read
// the same as before the switch.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <memory_resource>
#include <string>
#include <string_view>
#include <vector>

namespace gantry::api::detail {

enum class YamlType : uint8_t { kNull, kScalar, kSequence, kMap };

struct YamlNodeData {
  YamlType type = YamlType::kNull;
  int line = -1;          // 0-based line of the node's first token (its anchor or tag if any)
  std::string_view text;  // scalar value (kScalar only)
  std::string_view tag;
  // kSequence: `size` items; kMap: `size` pairs stored as key, value, key, value...
  const YamlNodeData* const* children = nullptr;
  uint32_t size = 0;
};

// A scalar's text: a view into the document's arena that also converts to std::string, as
// yaml-cpp's Scalar() did, so that `std::string key = node.Scalar();` keeps working.
struct YamlText : std::string_view {
  using std::string_view::string_view;
  YamlText(std::string_view s) : std::string_view(s) {}  // NOLINT(google-explicit-constructor)
  operator std::string() const { return std::string(data(), size()); }  // NOLINT
};

struct YamlMark {
  int line = -1;
};

// A handle on a node, or on nothing (an absent field). Cheap to copy.
class YamlNode {
 public:
  YamlNode() = default;
  explicit YamlNode(const YamlNodeData* d) : d_(d) {}

  bool IsDefined() const { return d_ != nullptr; }
  bool IsNull() const { return d_ == nullptr || d_->type == YamlType::kNull; }
  bool IsScalar() const { return d_ != nullptr && d_->type == YamlType::kScalar; }
  bool IsSequence() const { return d_ != nullptr && d_->type == YamlType::kSequence; }
  bool IsMap() const { return d_ != nullptr && d_->type == YamlType::kMap; }
  YamlType Type() const { return d_ ? d_->type : YamlType::kNull; }
  // Items of a sequence, pairs of a map, 0 otherwise.
  size_t size() const {
    return d_ && (d_->type == YamlType::kSequence || d_->type == YamlType::kMap) ? d_->size : 0;
  }
  YamlText Scalar() const { return IsScalar() ? YamlText(d_->text) : YamlText(); }
  std::string_view Tag() const { return d_ ? d_->tag : std::string_view(); }
  YamlMark Mark() const { return YamlMark{d_ ? d_->line : -1}; }

  // Sequence item i (i < size()).
  YamlNode item(size_t i) const { return YamlNode(d_->children[i]); }
  // Map pair i (i < size()).
  YamlNode key(size_t i) const { return YamlNode(d_->children[2 * i]); }
  YamlNode value(size_t i) const { return YamlNode(d_->children[2 * i + 1]); }

  const YamlNodeData* data() const { return d_; }

 private:
  const YamlNodeData* d_ = nullptr;
};

// One YAML stream read into trees: one root per document, in order.
class YamlStream {
 public:
  struct Document {
    YamlNode root;  // IsNull() for an empty document
    int line = 0;   // 0-based line of the document's first token
  };
  struct Error {
    int line = 0;  // 0-based
    std::string message;
  };

  YamlStream();
  ~YamlStream();
  YamlStream(const YamlStream&) = delete;
  YamlStream& operator=(const YamlStream&) = delete;

  // Parses `text` (which must outlive nothing: scalars are copied into the arena). Returns false
  // on the first syntax error, which error() then describes; documents() is then incomplete.
  bool parse(std::string_view text);
  const std::vector<Document>& documents() const { return documents_; }
  const Error& error() const { return error_; }

 private:
  std::pmr::monotonic_buffer_resource arena_;
  std::vector<Document> documents_;
  Error error_;
};

}  // namespace gantry::api::detail
