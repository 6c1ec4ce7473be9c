// A certificate authority for TLS tests, made at test time by the project's
// own scripts/pki.sh (the openssl command) in a directory of the test: a CA,
// its CRL, device and collector certificates, revocations.
#ifndef ATMHEALTH_TESTS_SUPPORT_TEST_PKI_H_
#define ATMHEALTH_TESTS_SUPPORT_TEST_PKI_H_

#include <filesystem>
#include <string>
#include <vector>

namespace atmhealth::testing {

class TestPki {
 public:
  struct Issued {
    std::filesystem::path certificate;  // PEM
    std::filesystem::path key;          // PEM, unencrypted
  };

  // Makes a CA named `name` in `dir` (created). A failure is a test failure.
  TestPki(const std::filesystem::path& dir, const std::string& name = "atmhealth test CA");

  std::filesystem::path ca() const { return dir_ / "ca.crt"; }
  std::filesystem::path crl() const { return dir_ / "crl.pem"; }

  // A device certificate whose CN is `device_id`. Dates as openssl ca takes
  // them ("YYYYMMDDHHMMSSZ"); empty: from now on.
  Issued Device(const std::string& device_id, const std::string& not_before = "",
                const std::string& not_after = "");
  // A collector certificate for `names` (DNS names or IP addresses).
  Issued Collector(const std::string& name, const std::vector<std::string>& names);
  // Revokes what was issued to `name` last and rewrites the CRL.
  void Revoke(const std::string& name);

 private:
  void Run(const std::vector<std::string>& args);
  Issued IssuedTo(const std::string& name) const;

  std::filesystem::path dir_;
};

}  // namespace atmhealth::testing

#endif  // ATMHEALTH_TESTS_SUPPORT_TEST_PKI_H_
