// File: bench/reference_server.cpp
//
// kmsd_bench_reference: the same-run baseline of bench/run's "reference" scenario. It is the
// storage-free server issue 3 states its ceiling with: a plain Boost.Beast HTTP/1.1 server
// (one thread, keep-alive) that, for every POST, parses the JSON body with RapidJSON, draws
// 32 random bytes and AES-256-GCM-seals them (fresh random IV, the request's KeyId as AAD)
// under one process key, and writes `{"CiphertextBlob":...,"KeyId":...}`. The other modes:
//   --fixed-reply     answer `{}` without parsing or sealing (HTTP and the kernel alone);
//   --sign KIND       sign SHA-256 of the request's base64 Message with one process key,
//                     KIND p256 (ECDSA) or rsa2048 (PKCS#1 v1.5), and reply with Signature;
//   --verify KIND     verify the request's Signature over SHA-256(Message) with that key
//                     (a signature by another key is simply invalid: the same work).
//
// No key lookup, validation, SigV4 parsing, storage or error model: what kmsd costs above this
// figure on the same machine in the same run is kmsd's own work. Not part of kmsd; never use
// it as a KMS endpoint.
//
//   taskset -c 0 kmsd_bench_reference --port 0 [--fixed-reply | --sign KIND | --verify KIND]
//   -> prints "reference listening on http://127.0.0.1:PORT" and serves until SIGINT/SIGTERM.
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <rapidjson/document.h>

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr std::size_t kDataKeyBytes = 32;
constexpr std::size_t kIvBytes = 12;
constexpr std::size_t kTagBytes = 16;

// One AES-256-GCM context for the (single) serving thread, keyed once at start-up.
class Sealer {
 public:
  Sealer() : ctx_(EVP_CIPHER_CTX_new()) {
    std::array<unsigned char, 32> key{};
    ok_ = ctx_ != nullptr && RAND_bytes(key.data(), key.size()) == 1 &&
          EVP_EncryptInit_ex(ctx_, EVP_aes_256_gcm(), nullptr, key.data(), nullptr) == 1;
  }
  Sealer(const Sealer&) = delete;
  Sealer& operator=(const Sealer&) = delete;
  ~Sealer() { EVP_CIPHER_CTX_free(ctx_); }

  bool ok() const { return ok_; }

  // Writes iv || ciphertext || tag of `plaintext` with `aad` into `out` (12 + n + 16 bytes).
  // REQUIRES: out[0, 12) holds a fresh random IV.
  bool Seal(std::string_view aad, const unsigned char* plaintext, int n, unsigned char* out) {
    int len = 0;
    return EVP_EncryptInit_ex(ctx_, nullptr, nullptr, nullptr, out) == 1 &&
           EVP_EncryptUpdate(ctx_, nullptr, &len,
                             reinterpret_cast<const unsigned char*>(aad.data()),
                             static_cast<int>(aad.size())) == 1 &&
           EVP_EncryptUpdate(ctx_, out + kIvBytes, &len, plaintext, n) == 1 &&
           EVP_EncryptFinal_ex(ctx_, out + kIvBytes + n, &len) == 1 &&
           EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_GCM_GET_TAG, kTagBytes, out + kIvBytes + n) == 1;
  }

 private:
  EVP_CIPHER_CTX* ctx_;
  bool ok_ = false;
};

std::vector<unsigned char> FromBase64(std::string_view text) {
  std::vector<unsigned char> out(3 * (text.size() / 4) + 3);
  const int n = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  std::size_t len = n < 0 ? 0 : static_cast<std::size_t>(n);
  // EVP_DecodeBlock counts the bytes of the '=' padding as zeros: drop them.
  for (std::size_t i = text.size(); i > 0 && text[i - 1] == '=' && len > 0; --i) --len;
  out.resize(len);
  return out;
}

void AppendBase64(std::string& out, const unsigned char* data, std::size_t n) {
  const std::size_t start = out.size();
  out.resize(start + 4 * ((n + 2) / 3) + 1);  // + NUL
  const int len = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data() + start), data,
                                  static_cast<int>(n));
  out.resize(start + static_cast<std::size_t>(len));
}

// The string member `name` of `doc`, or "" when it is missing or not a string.
std::string_view StringMember(const rapidjson::Document& doc, const char* name) {
  auto it = doc.FindMember(name);
  if (it == doc.MemberEnd() || !it->value.IsString()) return {};
  return {it->value.GetString(), it->value.GetStringLength()};
}

// The sealed data key for one request (false: an error text in `reply`).
bool AnswerSeal(Sealer& sealer, std::string_view key_id, std::string& reply) {
  constexpr std::size_t kBlobBytes = kIvBytes + kDataKeyBytes + kTagBytes;
  std::array<unsigned char, kBlobBytes> blob{};
  // One RAND_bytes call draws the IV and the data key (each call costs OpenSSL a getpid()
  // for its fork check, a syscall that is not free on a VM).
  std::array<unsigned char, kIvBytes + kDataKeyBytes> random{};
  if (RAND_bytes(random.data(), random.size()) != 1) {
    reply = R"({"__type":"KMSInternalException"})";
    return false;
  }
  std::memcpy(blob.data(), random.data(), kIvBytes);
  const bool sealed = sealer.Seal(key_id, random.data() + kIvBytes, kDataKeyBytes, blob.data());
  OPENSSL_cleanse(random.data(), random.size());
  if (!sealed) {
    reply = R"({"__type":"KMSInternalException"})";
    return false;
  }
  reply.assign(R"({"CiphertextBlob":")");
  AppendBase64(reply, blob.data(), blob.size());
  reply.append(R"(","KeyId":")");
  reply.append(key_id);
  reply.append(R"("})");
  return true;
}

// One asymmetric key and a context initialised once for signing or verifying with it.
class Signer {
 public:
  Signer(std::string_view kind, bool sign) : sign_(sign) {
    key_ = kind == "p256" ? EVP_EC_gen("P-256") : kind == "rsa2048" ? EVP_RSA_gen(2048) : nullptr;
    if (key_ == nullptr) return;
    ctx_ = EVP_PKEY_CTX_new_from_pkey(nullptr, key_, nullptr);
    ok_ = ctx_ != nullptr && (sign ? EVP_PKEY_sign_init(ctx_) : EVP_PKEY_verify_init(ctx_)) == 1 &&
          EVP_PKEY_CTX_set_signature_md(ctx_, EVP_sha256()) == 1 &&
          (kind != "rsa2048" || EVP_PKEY_CTX_set_rsa_padding(ctx_, RSA_PKCS1_PADDING) == 1);
    algorithm_ = kind == "p256" ? "ECDSA_SHA_256" : "RSASSA_PKCS1_V1_5_SHA_256";
  }
  Signer(const Signer&) = delete;
  Signer& operator=(const Signer&) = delete;
  ~Signer() {
    EVP_PKEY_CTX_free(ctx_);
    EVP_PKEY_free(key_);
  }

  bool ok() const { return ok_; }
  bool signs() const { return sign_; }
  std::string_view algorithm() const { return algorithm_; }

  bool Sign(const unsigned char* digest, std::vector<unsigned char>& sig) {
    std::size_t len = 0;
    if (EVP_PKEY_sign(ctx_, nullptr, &len, digest, SHA256_DIGEST_LENGTH) != 1) return false;
    sig.resize(len);
    if (EVP_PKEY_sign(ctx_, sig.data(), &len, digest, SHA256_DIGEST_LENGTH) != 1) return false;
    sig.resize(len);
    return true;
  }
  bool Verify(const unsigned char* digest, const std::vector<unsigned char>& sig) {
    return EVP_PKEY_verify(ctx_, sig.data(), sig.size(), digest, SHA256_DIGEST_LENGTH) == 1;
  }

 private:
  bool sign_;
  EVP_PKEY* key_ = nullptr;
  EVP_PKEY_CTX* ctx_ = nullptr;
  std::string_view algorithm_;
  bool ok_ = false;
};

// Sign or Verify for one request (false: an error text in `reply`).
bool AnswerSignature(Signer& signer, const rapidjson::Document& doc, std::string_view key_id,
                     std::string& reply) {
  const std::vector<unsigned char> message = FromBase64(StringMember(doc, "Message"));
  std::array<unsigned char, SHA256_DIGEST_LENGTH> digest{};
  SHA256(message.data(), message.size(), digest.data());
  reply.assign(R"({"KeyId":")").append(key_id);
  if (signer.signs()) {
    std::vector<unsigned char> sig;
    if (!signer.Sign(digest.data(), sig)) {
      reply = R"({"__type":"KMSInternalException"})";
      return false;
    }
    reply.append(R"(","Signature":")");
    AppendBase64(reply, sig.data(), sig.size());
    reply.push_back('"');
  } else {
    const bool valid = signer.Verify(digest.data(), FromBase64(StringMember(doc, "Signature")));
    ERR_clear_error();  // an invalid signature leaves an error queued
    reply.append(valid ? R"(","SignatureValid":true)" : R"(","SignatureValid":false)");
  }
  reply.append(R"(,"SigningAlgorithm":")").append(signer.algorithm()).append(R"("})");
  return true;
}

// What the server does for each request.
struct Work {
  enum class Mode { kSeal, kFixed, kSignature };
  Mode mode = Mode::kSeal;
  Sealer sealer;
  std::unique_ptr<Signer> signer;  // kSignature only
};

// The reply body for one request (false: an error text, status 400).
bool Answer(Work& work, const std::string& body, std::string& reply) {
  if (work.mode == Work::Mode::kFixed) {
    reply = "{}";
    return true;
  }
  rapidjson::Document doc;
  doc.Parse(body.data(), body.size());
  if (doc.HasParseError() || !doc.IsObject()) {
    reply = R"({"__type":"SerializationException"})";
    return false;
  }
  const std::string_view key_id = StringMember(doc, "KeyId");
  if (work.mode == Work::Mode::kSignature) return AnswerSignature(*work.signer, doc, key_id, reply);
  return AnswerSeal(work.sealer, key_id, reply);
}

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, Work& work) : stream_(std::move(socket)), work_(work) {}

  void Read() {
    request_ = {};
    http::async_read(stream_, buffer_, request_,
                     beast::bind_front_handler(&Session::OnRead, shared_from_this()));
  }

 private:
  void OnRead(beast::error_code ec, std::size_t /*bytes*/) {
    if (ec) return;  // closed by the client, or a malformed request: drop the connection
    response_ = {};
    response_.version(request_.version());
    response_.keep_alive(request_.keep_alive());
    response_.set(http::field::content_type, "application/x-amz-json-1.1");
    const bool ok = Answer(work_, request_.body(), response_.body());
    response_.result(ok ? http::status::ok : http::status::bad_request);
    response_.prepare_payload();
    http::async_write(stream_, response_,
                      beast::bind_front_handler(&Session::OnWrite, shared_from_this()));
  }

  void OnWrite(beast::error_code ec, std::size_t /*bytes*/) {
    if (ec || !response_.keep_alive()) return;
    Read();
  }

  tcp::socket stream_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> request_;
  http::response<http::string_body> response_;
  Work& work_;
};

void Accept(tcp::acceptor& acceptor, Work& work) {
  acceptor.async_accept([&acceptor, &work](beast::error_code ec, tcp::socket s) {
    if (!ec) {
      s.set_option(tcp::no_delay(true));
      std::make_shared<Session>(std::move(s), work)->Read();
    }
    if (acceptor.is_open()) Accept(acceptor, work);
  });
}

}  // namespace

int main(int argc, char** argv) {
  unsigned short port = 0;
  Work work;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--port" && i + 1 < argc) {
      port = static_cast<unsigned short>(std::strtoul(argv[++i], nullptr, 10));
    } else if (arg == "--fixed-reply") {
      work.mode = Work::Mode::kFixed;
    } else if ((arg == "--sign" || arg == "--verify") && i + 1 < argc) {
      work.mode = Work::Mode::kSignature;
      work.signer = std::make_unique<Signer>(argv[++i], arg == "--sign");
      if (!work.signer->ok()) {
        std::fprintf(stderr, "kmsd_bench_reference: cannot set up %s (p256 or rsa2048)\n", argv[i]);
        return 2;
      }
    } else {
      std::fprintf(stderr,
                   "usage: kmsd_bench_reference [--port N] "
                   "[--fixed-reply | --sign KIND | --verify KIND]\n");
      return 2;
    }
  }
  if (!work.sealer.ok()) {
    std::fprintf(stderr, "kmsd_bench_reference: OpenSSL AES-256-GCM set-up failed\n");
    return 1;
  }
  asio::io_context io(1);
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](beast::error_code, int) {
    acceptor.close();
    io.stop();
  });
  Accept(acceptor, work);
  std::printf("reference listening on http://127.0.0.1:%u\n", acceptor.local_endpoint().port());
  std::fflush(stdout);
  io.run();
  return 0;
}
