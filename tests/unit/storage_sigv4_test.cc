// SigV4 against AWS's published vectors: the Signature Version 4 test suite (credentials AKIDEXAMPLE,
// service "service", 20150830T123600Z) and the worked S3 examples of the S3 API reference
// (AKIAIOSFODNN7EXAMPLE, examplebucket, 20130524T000000Z). Each vector checks every stage, not only the
// signature: a wrong canonical request shows up there as text a person can read.
#include "storage/sigv4.h"

#include <gtest/gtest.h>

#include "common/hasher.h"

namespace berth::storage::sigv4 {
namespace {

const Credentials kSuiteCreds{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""};
constexpr const char* kSuiteDate = "20150830T123600Z";
constexpr const char* kSuiteScope = "20150830/us-east-1/service/aws4_request";
constexpr const char* kSuiteHost = "example.amazonaws.com";

struct SuiteVector {
  const char* name;
  Request request;
  std::string canonical_request;
  std::string string_to_sign_hash;  // last line of the .sts file
  std::string signature;
};

Request suite_request(std::string method, std::string path, Params query, Params extra_headers,
                      std::string payload_hash = std::string(kEmptyPayloadHash)) {
  Params headers{{"Host", kSuiteHost}};
  for (auto& h : extra_headers) headers.push_back(std::move(h));
  headers.emplace_back("X-Amz-Date", kSuiteDate);
  return Request{std::move(method), std::move(path), std::move(query), std::move(headers), std::move(payload_hash)};
}

std::string lines(std::initializer_list<std::string> ls) {
  std::string out;
  for (const auto& l : ls) {
    if (!out.empty()) out.push_back('\n');
    out += l;
  }
  return out;
}

const std::string kEmpty(kEmptyPayloadHash);
const std::string kFormBodyHash = "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e";

std::vector<SuiteVector> suite_vectors() {
  return {
      {"get-vanilla", suite_request("GET", "/", {}, {}),
       lines({"GET", "/", "", "host:example.amazonaws.com", "x-amz-date:20150830T123600Z", "", "host;x-amz-date", kEmpty}),
       "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
       "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
      {"get-vanilla-query-order-key-case", suite_request("GET", "/", {{"Param2", "value2"}, {"Param1", "value1"}}, {}),
       lines({"GET", "/", "Param1=value1&Param2=value2", "host:example.amazonaws.com", "x-amz-date:20150830T123600Z", "",
              "host;x-amz-date", kEmpty}),
       "816cd5b414d056048ba4f7c5386d6e0533120fb1fcfa93762cf0fc39e2cf19e0",
       "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"},
      {"get-vanilla-query-unreserved",
       suite_request("GET", "/",
                     {{"-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
                       "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"}},
                     {}),
       lines({"GET", "/",
              "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz=-._~"
              "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
              "host:example.amazonaws.com", "x-amz-date:20150830T123600Z", "", "host;x-amz-date", kEmpty}),
       "c30d4703d9f799439be92736156d47ccfb2d879ddf56f5befa6d1d6aab979177",
       "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197"},
      {"get-vanilla-utf8-query", suite_request("GET", "/", {{"\xE1\x88\xB4", "bar"}}, {}),
       lines({"GET", "/", "%E1%88%B4=bar", "host:example.amazonaws.com", "x-amz-date:20150830T123600Z", "",
              "host;x-amz-date", kEmpty}),
       "eb30c5bed55734080471a834cc727ae56beb50e5f39d1bff6d0d38cb192a7073",
       "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04"},
      {"get-header-key-duplicate",
       suite_request("GET", "/", {}, {{"My-Header1", "value2"}, {"My-Header1", "value2"}, {"My-Header1", "value1"}}),
       lines({"GET", "/", "", "host:example.amazonaws.com", "my-header1:value2,value2,value1",
              "x-amz-date:20150830T123600Z", "", "host;my-header1;x-amz-date", kEmpty}),
       "dc7f04a3abfde8d472b0ab1a418b741b7c67174dad1551b4117b15527fbe966c",
       "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea"},
      {"get-header-value-order",
       suite_request("GET", "/", {},
                     {{"My-Header1", "value4"}, {"My-Header1", "value1"}, {"My-Header1", "value3"}, {"My-Header1", "value2"}}),
       lines({"GET", "/", "", "host:example.amazonaws.com", "my-header1:value4,value1,value3,value2",
              "x-amz-date:20150830T123600Z", "", "host;my-header1;x-amz-date", kEmpty}),
       "31ce73cd3f3d9f66977ad3dd957dc47af14df92fcd8509f59b349e9137c58b86",
       "08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01"},
      {"get-header-value-trim", suite_request("GET", "/", {}, {{"My-Header1", " value1"}, {"My-Header2", " \"a   b   c\""}}),
       lines({"GET", "/", "", "host:example.amazonaws.com", "my-header1:value1", "my-header2:\"a b c\"",
              "x-amz-date:20150830T123600Z", "", "host;my-header1;my-header2;x-amz-date", kEmpty}),
       "a726db9b0df21c14f559d0a978e563112acb1b9e05476f0a6a1c7d68f28605c7",
       "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"},
      {"get-unreserved", suite_request("GET", "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", {}, {}),
       lines({"GET", "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", "",
              "host:example.amazonaws.com", "x-amz-date:20150830T123600Z", "", "host;x-amz-date", kEmpty}),
       "6a968768eefaa713e2a6b16b589a8ea192661f098f37349f4e2c0082757446f9",
       "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f"},
      {"get-utf8", suite_request("GET", "/\xE1\x88\xB4", {}, {}),
       lines({"GET", "/%E1%88%B4", "", "host:example.amazonaws.com", "x-amz-date:20150830T123600Z", "", "host;x-amz-date",
              kEmpty}),
       "2a0a97d02205e45ce2e994789806b19270cfbbb0921b278ccf58f5249ac42102",
       "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"},
      // The -unnormalized variants are the ones that match S3, which normalizes nothing in the path.
      {"get-space-unnormalized", suite_request("GET", "/example space/", {}, {}),
       lines({"GET", "/example%20space/", "", "host:example.amazonaws.com", "x-amz-date:20150830T123600Z", "",
              "host;x-amz-date", kEmpty}),
       "63ee75631ed7234ae61b5f736dfc7754cdccfedbff4b5128a915706ee9390d86",
       "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741"},
      {"get-slashes-unnormalized", suite_request("GET", "//example//", {}, {}),
       lines({"GET", "//example//", "", "host:example.amazonaws.com", "x-amz-date:20150830T123600Z", "", "host;x-amz-date",
              kEmpty}),
       "528ec3105ee1f34ab014bb0a1a45da0ed2742a4fea3555149e5b4d5d201eb240",
       "87cca117541a147f6df867677d98a7d80dff226d2bfca9e4ffa899665623c7e5"},
      {"post-vanilla", suite_request("POST", "/", {}, {}),
       lines({"POST", "/", "", "host:example.amazonaws.com", "x-amz-date:20150830T123600Z", "", "host;x-amz-date", kEmpty}),
       "553f88c9e4d10fc9e109e2aeb65f030801b70c2f6468faca261d401ae622fc87",
       "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"},
      {"post-vanilla-query", suite_request("POST", "/", {{"Param1", "value1"}}, {}),
       lines({"POST", "/", "Param1=value1", "host:example.amazonaws.com", "x-amz-date:20150830T123600Z", "",
              "host;x-amz-date", kEmpty}),
       "9d659678c1756bb3113e2ce898845a0a79dbbc57b740555917687f1b3340fbbd",
       "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11"},
      {"post-header-key-sort", suite_request("POST", "/", {}, {{"My-Header1", "value1"}}),
       lines({"POST", "/", "", "host:example.amazonaws.com", "my-header1:value1", "x-amz-date:20150830T123600Z", "",
              "host;my-header1;x-amz-date", kEmpty}),
       "9368318c2967cf6de74404b30c65a91e8f6253e0a8659d6d5319f1a812f87d65",
       "c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c"},
      // The 2015 edition of the suite signs content-type, host and x-amz-date for a form body.
      {"post-x-www-form-urlencoded (2015)",
       suite_request("POST", "/", {}, {{"Content-Type", "application/x-www-form-urlencoded"}}, kFormBodyHash),
       lines({"POST", "/", "", "content-type:application/x-www-form-urlencoded", "host:example.amazonaws.com",
              "x-amz-date:20150830T123600Z", "", "content-type;host;x-amz-date", kFormBodyHash}),
       "", "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"},
      // The current edition (aws-c-auth's copy) also signs content-length and x-amz-content-sha256.
      {"post-x-www-form-urlencoded",
       suite_request("POST", "/", {},
                     {{"Content-Type", "application/x-www-form-urlencoded"},
                      {"Content-Length", "13"},
                      {"X-Amz-Content-Sha256", kFormBodyHash}},
                     kFormBodyHash),
       lines({"POST", "/", "", "content-length:13", "content-type:application/x-www-form-urlencoded",
              "host:example.amazonaws.com", "x-amz-content-sha256:" + kFormBodyHash, "x-amz-date:20150830T123600Z", "",
              "content-length;content-type;host;x-amz-content-sha256;x-amz-date", kFormBodyHash}),
       "b1edd1d03544c25390e32085d55b57acc9a3961bb59415ff86c45c3d89d16cfb",
       "d3875051da38690788ef43de4db0d8f280229d82040bfac253562e56c3f20e0b"},
      {"post-x-www-form-urlencoded-parameters",
       suite_request("POST", "/", {},
                     {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"},
                      {"Content-Length", "13"},
                      {"X-Amz-Content-Sha256", kFormBodyHash}},
                     kFormBodyHash),
       lines({"POST", "/", "", "content-length:13", "content-type:application/x-www-form-urlencoded; charset=utf-8",
              "host:example.amazonaws.com", "x-amz-content-sha256:" + kFormBodyHash, "x-amz-date:20150830T123600Z", "",
              "content-length;content-type;host;x-amz-content-sha256;x-amz-date", kFormBodyHash}),
       "a89f1a5b53e37702ee6363ce1da3ce8f54386f3c8f352ae652153c2982a0bc4d",
       "328d1b9eaadca9f5818ef05e8392801e091653bafec24fcab71e7344e7f51422"},
  };
}

TEST(SigV4Suite, EveryVectorMatchesAtEveryStage) {
  for (const SuiteVector& v : suite_vectors()) {
    SCOPED_TRACE(v.name);
    Signed s = sign(v.request, kSuiteCreds, "us-east-1", "service", kSuiteDate);
    EXPECT_EQ(s.canonical_request, v.canonical_request);
    if (!v.string_to_sign_hash.empty()) {
      EXPECT_EQ(s.string_to_sign, lines({"AWS4-HMAC-SHA256", kSuiteDate, kSuiteScope, v.string_to_sign_hash}));
    }
    EXPECT_EQ(s.signature, v.signature);
    EXPECT_EQ(s.authorization, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/" + std::string(kSuiteScope) +
                                   ", SignedHeaders=" + canonical_headers(v.request.headers).second +
                                   ", Signature=" + v.signature);
  }
}

TEST(SigV4Suite, GetVanillaAuthorizationHeader) {
  Signed s = sign(suite_request("GET", "/", {}, {}), kSuiteCreds, "us-east-1", "service", kSuiteDate);
  EXPECT_EQ(s.authorization,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
            "SignedHeaders=host;x-amz-date, "
            "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

TEST(SigV4Suite, PresignedGetVanilla) {
  Request r{"GET", "/", {}, {{"Host", kSuiteHost}}, std::string(kEmptyPayloadHash)};
  Presigned p = presign(r, kSuiteCreds, "us-east-1", "service", kSuiteDate, 3600);
  EXPECT_EQ(p.canonical_request,
            lines({"GET", "/",
                   "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2F"
                   "aws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host",
                   "host:example.amazonaws.com", "", "host", kEmpty}));
  EXPECT_EQ(p.string_to_sign, lines({"AWS4-HMAC-SHA256", kSuiteDate, kSuiteScope,
                                     "bb7705b4aa3cb8e8f5e1e0b3d4c0b64030797a313c8ceee43e33117cc43eadc5"}));
  EXPECT_EQ(p.signature, "e93c787ed7f371d5c6b165c1b38ede9550f4dce4144713e844b25b7192d3865d");
}

TEST(SigV4Suite, PresignedQueryOrderKeyCase) {
  Request r{"GET", "/", {{"Param2", "value2"}, {"Param1", "value1"}}, {{"Host", kSuiteHost}},
            std::string(kEmptyPayloadHash)};
  Presigned p = presign(r, kSuiteCreds, "us-east-1", "service", kSuiteDate, 3600);
  EXPECT_EQ(p.signature, "86012e2c9ad4d77369f5d81c11f75158aae4f895a085212cc6d3f923d300bed5");
  EXPECT_EQ(p.query.rfind("&X-Amz-Signature=" + p.signature), p.query.size() - 17 - 64) << "signature comes last";
}

// The S3 API reference's worked examples: secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY (a '/' where the
// suite has '+'), bucket examplebucket, virtual-hosted style.
const Credentials kS3Creds{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""};
constexpr const char* kS3Date = "20130524T000000Z";
constexpr const char* kS3Host = "examplebucket.s3.amazonaws.com";

TEST(SigV4S3Examples, GetObjectWithRange) {
  Request r{"GET",
            "/test.txt",
            {},
            {{"Host", kS3Host}, {"Range", "bytes=0-9"}, {"x-amz-content-sha256", kEmpty}, {"x-amz-date", kS3Date}},
            kEmpty};
  Signed s = sign(r, kS3Creds, "us-east-1", "s3", kS3Date);
  EXPECT_EQ(s.canonical_request,
            lines({"GET", "/test.txt", "", "host:examplebucket.s3.amazonaws.com", "range:bytes=0-9",
                   "x-amz-content-sha256:" + kEmpty, "x-amz-date:20130524T000000Z", "",
                   "host;range;x-amz-content-sha256;x-amz-date", kEmpty}));
  EXPECT_EQ(s.string_to_sign, lines({"AWS4-HMAC-SHA256", kS3Date, "20130524/us-east-1/s3/aws4_request",
                                     "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972"}));
  EXPECT_EQ(s.signature, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
  EXPECT_EQ(s.authorization,
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
            "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
            "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST(SigV4S3Examples, PutObjectWithBodyAndEncodedKey) {
  const std::string body = "Welcome to Amazon S3.";
  const std::string body_hash = berth::sha256_hex(body);
  ASSERT_EQ(body_hash, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
  Request r{"PUT",
            "/test$file.text",
            {},
            {{"Host", kS3Host},
             {"Date", "Fri, 24 May 2013 00:00:00 GMT"},
             {"x-amz-date", kS3Date},
             {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
             {"x-amz-content-sha256", body_hash}},
            body_hash};
  Signed s = sign(r, kS3Creds, "us-east-1", "s3", kS3Date);
  EXPECT_EQ(s.canonical_request,
            lines({"PUT", "/test%24file.text", "", "date:Fri, 24 May 2013 00:00:00 GMT",
                   "host:examplebucket.s3.amazonaws.com", "x-amz-content-sha256:" + body_hash,
                   "x-amz-date:20130524T000000Z", "x-amz-storage-class:REDUCED_REDUNDANCY", "",
                   "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class", body_hash}));
  EXPECT_EQ(s.string_to_sign, lines({"AWS4-HMAC-SHA256", kS3Date, "20130524/us-east-1/s3/aws4_request",
                                     "9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d"}));
  EXPECT_EQ(s.signature, "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
}

TEST(SigV4S3Examples, GetBucketLifecycleValuelessParameter) {
  Request r{"GET",
            "/",
            {{"lifecycle", ""}},
            {{"Host", kS3Host}, {"x-amz-content-sha256", kEmpty}, {"x-amz-date", kS3Date}},
            kEmpty};
  Signed s = sign(r, kS3Creds, "us-east-1", "s3", kS3Date);
  EXPECT_EQ(s.canonical_request.substr(0, 17), "GET\n/\nlifecycle=\n");
  EXPECT_EQ(s.signature, "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
}

TEST(SigV4S3Examples, ListObjectsSortsParameters) {
  Request r{"GET",
            "/",
            {{"prefix", "J"}, {"max-keys", "2"}},
            {{"Host", kS3Host}, {"x-amz-content-sha256", kEmpty}, {"x-amz-date", kS3Date}},
            kEmpty};
  Signed s = sign(r, kS3Creds, "us-east-1", "s3", kS3Date);
  EXPECT_EQ(s.signature, "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

TEST(SigV4S3Examples, PresignedGetObjectUrl) {
  Request r{"GET", "/test.txt", {}, {{"Host", kS3Host}}, std::string(kUnsignedPayload)};
  Presigned p = presign(r, kS3Creds, "us-east-1", "s3", kS3Date, 86400);
  EXPECT_EQ(p.canonical_request,
            lines({"GET", "/test.txt",
                   "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%"
                   "2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host",
                   "host:examplebucket.s3.amazonaws.com", "", "host", "UNSIGNED-PAYLOAD"}));
  EXPECT_EQ(p.string_to_sign, lines({"AWS4-HMAC-SHA256", kS3Date, "20130524/us-east-1/s3/aws4_request",
                                     "3bfa292879f6447bbcda7001decf97f4a54dc650c8942174ae0a9121cf58ad04"}));
  EXPECT_EQ(p.signature, "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
  EXPECT_EQ(p.query,
            "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2F"
            "aws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature="
            "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
}

TEST(SigV4S3Examples, SigningKeyIsTheDocumentedChainOfHmacs) {
  // From AWS's "calculate the signature" example (iam, 20150830).
  std::string key = signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20150830T123600Z", "us-east-1", "iam");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned char c : key) {
    hex.push_back(kHex[c >> 4]);
    hex.push_back(kHex[c & 0xf]);
  }
  EXPECT_EQ(hex, "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9");
}

TEST(SigV4Encoding, UriEncodeKeepsOnlyTheUnreservedSet) {
  EXPECT_EQ(uri_encode("-_.~AZaz09"), "-_.~AZaz09");
  EXPECT_EQ(uri_encode("a b+c/d=e&f"), "a%20b%2Bc%2Fd%3De%26f");
  EXPECT_EQ(uri_encode("a/b c", false), "a/b%20c");
  EXPECT_EQ(uri_encode("\xC3\xBC"), "%C3%BC");
  EXPECT_EQ(uri_encode("a!'()*"), "a%21%27%28%29%2A");
}

TEST(SigV4Encoding, CanonicalQuerySortsByEncodedNameThenValue) {
  EXPECT_EQ(canonical_query({{"uploadId", "x/y"}, {"partNumber", "2"}}), "partNumber=2&uploadId=x%2Fy");
  EXPECT_EQ(canonical_query({{"uploads", ""}}), "uploads=");
  EXPECT_EQ(canonical_query({{"b", "2"}, {"b", "1"}, {"a", ""}}), "a=&b=1&b=2");
}

TEST(SigV4Encoding, HeaderValuesAreTrimmedAndCollapsed) {
  auto [block, names] = canonical_headers({{"X-B", " \t a  \t b  "}, {"Host", "h"}});
  EXPECT_EQ(block, "host:h\nx-b:a b\n");
  EXPECT_EQ(names, "host;x-b");
}

TEST(SigV4Encoding, AmzDateIsUtc) {
  EXPECT_EQ(amz_date(1440938160), "20150830T123600Z");
  EXPECT_EQ(amz_date(0), "19700101T000000Z");
}

}  // namespace
}  // namespace berth::storage::sigv4
