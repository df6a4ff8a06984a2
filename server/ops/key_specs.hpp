// File: key_specs.hpp
//
// The JSON side of the key spec table (domain/key_specs.hpp, which says what each spec allows):
// the algorithm list members that KeyMetadata (CreateKey, DescribeKey) and GetPublicKey write.
//
//   WriteAlgorithmLists(key, out);  // "SigningAlgorithms": ["ECDSA_SHA_256"]
//
// Thread-safety: stateless.
#pragma once

#include <string_view>

#include "domain/key_specs.hpp"
#include "domain/vocabulary.hpp"
#include "server/protocol/json_io.hpp"
#include "storage/records.hpp"

namespace kms::ops {

using domain::KeyFamily;
using domain::KeySpecInfo;

// The KeyMetadata / GetPublicKey member that lists a usage's algorithms:
// "EncryptionAlgorithms", "SigningAlgorithms", "MacAlgorithms" or "KeyAgreementAlgorithms".
std::string_view AlgorithmsMember(domain::KeyUsage usage);

// Writes the algorithm list member of `key`: the algorithms its spec lists for its usage (none
// for a pair AWS does not allow, which storage never holds).
void WriteAlgorithmLists(const storage::KeyRecord& key, server::JsonOut& out);

}  // namespace kms::ops
