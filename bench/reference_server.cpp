// File: bench/reference_server.cpp
//
// kmsd_bench_reference: the same-run baseline of bench/run's "reference" scenario. It is the
// storage-free server issue 3 states its ceiling with: a plain Boost.Beast HTTP/1.1 server
// (one thread, keep-alive) that, for every POST, parses the JSON body with RapidJSON, draws
// 32 random bytes and AES-256-GCM-seals them (fresh random IV, the request's KeyId as AAD)
// under one process key, and writes `{"CiphertextBlob":...,"KeyId":...}`. With --fixed-reply
// it answers `{}` without parsing or sealing (HTTP and the kernel alone).
//
// No key lookup, validation, SigV4 parsing, storage or error model: what kmsd costs above this
// figure on the same machine in the same run is kmsd's own work. Not part of kmsd; never use
// it as a KMS endpoint.
//
//   taskset -c 0 kmsd_bench_reference --port 0 [--fixed-reply]
//   -> prints "reference listening on http://127.0.0.1:PORT" and serves until SIGINT/SIGTERM.
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
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

// The reply body for one request: the sealed data key, or an error text (status 400).
bool Answer(Sealer& sealer, std::string& body, std::string& reply) {
  rapidjson::Document doc;
  doc.Parse(body.data(), body.size());
  if (doc.HasParseError() || !doc.IsObject()) {
    reply = R"({"__type":"SerializationException"})";
    return false;
  }
  std::string_view key_id;
  if (auto it = doc.FindMember("KeyId"); it != doc.MemberEnd() && it->value.IsString()) {
    key_id = {it->value.GetString(), it->value.GetStringLength()};
  }
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
  std::array<unsigned char, 4 * ((kBlobBytes + 2) / 3) + 1> b64{};  // + NUL
  const int b64_len = EVP_EncodeBlock(b64.data(), blob.data(), blob.size());
  reply.clear();
  reply.append(R"({"CiphertextBlob":")");
  reply.append(reinterpret_cast<const char*>(b64.data()), static_cast<std::size_t>(b64_len));
  reply.append(R"(","KeyId":")");
  reply.append(key_id);
  reply.append(R"("})");
  return true;
}

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, Sealer& sealer, bool fixed_reply)
      : stream_(std::move(socket)), sealer_(sealer), fixed_reply_(fixed_reply) {}

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
    if (fixed_reply_) {
      response_.result(http::status::ok);
      response_.body() = "{}";
    } else {
      const bool ok = Answer(sealer_, request_.body(), response_.body());
      response_.result(ok ? http::status::ok : http::status::bad_request);
    }
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
  Sealer& sealer_;
  bool fixed_reply_;
};

void Accept(tcp::acceptor& acceptor, Sealer& sealer, bool fixed_reply) {
  acceptor.async_accept([&acceptor, &sealer, fixed_reply](beast::error_code ec, tcp::socket s) {
    if (!ec) {
      s.set_option(tcp::no_delay(true));
      std::make_shared<Session>(std::move(s), sealer, fixed_reply)->Read();
    }
    if (acceptor.is_open()) Accept(acceptor, sealer, fixed_reply);
  });
}

}  // namespace

int main(int argc, char** argv) {
  unsigned short port = 0;
  bool fixed_reply = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--port" && i + 1 < argc) {
      port = static_cast<unsigned short>(std::strtoul(argv[++i], nullptr, 10));
    } else if (arg == "--fixed-reply") {
      fixed_reply = true;
    } else {
      std::fprintf(stderr, "usage: kmsd_bench_reference [--port N] [--fixed-reply]\n");
      return 2;
    }
  }
  Sealer sealer;
  if (!sealer.ok()) {
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
  Accept(acceptor, sealer, fixed_reply);
  std::printf("reference listening on http://127.0.0.1:%u\n", acceptor.local_endpoint().port());
  std::fflush(stdout);
  io.run();
  return 0;
}
