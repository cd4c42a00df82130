// What the packages API shows of an image or chart: description, source and licences from the manifest's
// annotations, an image config's labels, or a Helm chart's config.
#include "registry/image_info.h"

#include <gtest/gtest.h>

namespace berth::registry {
namespace {

TEST(ImageInfo, AnnotationsComeBeforeConfigLabels) {
  ImageInfo info;
  add_annotations(info, R"({"org.opencontainers.image.description":"from the manifest"})");
  add_config_labels(info, R"({"config":{"Labels":{"org.opencontainers.image.description":"from the config",
                                                  "org.opencontainers.image.licenses":"MIT"}}})");
  EXPECT_EQ(info.description, "from the manifest");
  EXPECT_EQ(info.licenses, "MIT");
}

TEST(ImageInfo, AHelmChartsConfigGivesItsDescriptionAndSource) {
  ImageInfo info;
  add_helm_chart(info, R"({"name":"plain","version":"0.1.0","description":"from the Helm config",
                           "home":"https://example.com/home","sources":["https://example.com/src"]})");
  EXPECT_EQ(info.description, "from the Helm config");
  EXPECT_EQ(info.source, "https://example.com/src");
  ImageInfo home_only;
  add_helm_chart(home_only, R"({"name":"p","version":"1.0.0","home":"https://example.com/home"})");
  EXPECT_EQ(home_only.source, "https://example.com/home");
  ImageInfo malformed;
  add_helm_chart(malformed, R"({"description": 7, "sources": "not a list"})");
  EXPECT_TRUE(malformed.description.empty());
  EXPECT_TRUE(malformed.source.empty());
}

}  // namespace
}  // namespace berth::registry
