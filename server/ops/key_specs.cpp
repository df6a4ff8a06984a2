#include "server/ops/key_specs.hpp"

#include <span>

namespace kms::ops {
namespace {

// Writes `member`: [wire names of `algorithms`], unless the list is empty.
template <class E>
void WriteList(server::JsonOut& out, std::string_view member, std::span<const E> algorithms) {
  if (algorithms.empty()) return;
  out.Key(member);
  out.StartArray();
  for (E algorithm : algorithms) out.StringValue(domain::WireName(algorithm));
  out.EndArray();
}

}  // namespace

std::string_view AlgorithmsMember(domain::KeyUsage usage) {
  switch (usage) {
    case domain::KeyUsage::kEncryptDecrypt:
      return "EncryptionAlgorithms";
    case domain::KeyUsage::kSignVerify:
      return "SigningAlgorithms";
    case domain::KeyUsage::kGenerateVerifyMac:
      return "MacAlgorithms";
    case domain::KeyUsage::kKeyAgreement:
      return "KeyAgreementAlgorithms";
  }
  return {};
}

void WriteAlgorithmLists(const storage::KeyRecord& key, server::JsonOut& out) {
  const KeySpecInfo& spec = domain::SpecInfo(key.key_spec);
  const std::string_view member = AlgorithmsMember(key.key_usage);
  switch (key.key_usage) {
    case domain::KeyUsage::kEncryptDecrypt:
      return WriteList(out, member, spec.encryption);
    case domain::KeyUsage::kSignVerify:
      return WriteList(out, member, spec.signing);
    case domain::KeyUsage::kGenerateVerifyMac:
      return WriteList(out, member, spec.mac);
    case domain::KeyUsage::kKeyAgreement:
      return WriteList(out, member, spec.key_agreement);
  }
}

}  // namespace kms::ops
