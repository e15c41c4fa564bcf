################################################################################
#
# ipcamd
#
################################################################################

# The package is built from the repository this BR2_EXTERNAL tree lives in.
# Buildroot builds Go with -mod=vendor and GOPROXY=off and does not vendor
# local sites, so run "make vendor" in the repository before building.
IPCAMD_VERSION = 0.1.0
IPCAMD_SITE = $(BR2_EXTERNAL_IPCAMD_PATH)/..
IPCAMD_SITE_METHOD = local
# Placeholder until the repository has a license file.
IPCAMD_LICENSE = Proprietary
IPCAMD_GOMOD = github.com/ipcamd/ipcamd
IPCAMD_BUILD_TARGETS = cmd/ipcamd
IPCAMD_GO_ENV = CGO_ENABLED=0
# As the repository's "make cross": cameras serve HTTP/1.1 only.
IPCAMD_TAGS = nethttpomithttp2
IPCAMD_LDFLAGS = -s -w -X main.version=$(IPCAMD_VERSION)
IPCAMD_OVERRIDE_SRCDIR_RSYNC_EXCLUSIONS = \
	--exclude output --exclude dl --exclude e2e --exclude bench \
	--exclude lab --exclude .git

# The golang infrastructure installs the binary to /usr/bin/ipcamd; this
# hook adds the default configuration. (Setting IPCAMD_INSTALL_TARGET_CMDS
# would replace the infrastructure's install of the binary.)
define IPCAMD_INSTALL_CONFIG
	$(INSTALL) -D -m 0644 \
		$(BR2_EXTERNAL_IPCAMD_PATH)/board/common/rootfs_overlay/etc/ipcamd/ipcamd.yaml \
		$(TARGET_DIR)/etc/ipcamd/ipcamd.yaml
endef
IPCAMD_POST_INSTALL_TARGET_HOOKS += IPCAMD_INSTALL_CONFIG

define IPCAMD_INSTALL_INIT_SYSV
	$(INSTALL) -D -m 0755 $(IPCAMD_PKGDIR)/S99ipcamd \
		$(TARGET_DIR)/etc/init.d/S99ipcamd
endef

define IPCAMD_INSTALL_INIT_SYSTEMD
	$(INSTALL) -D -m 0644 $(IPCAMD_PKGDIR)/ipcamd.service \
		$(TARGET_DIR)/usr/lib/systemd/system/ipcamd.service
endef

define IPCAMD_LINUX_CONFIG_FIXUPS
	$(call KCONFIG_ENABLE_OPT,CONFIG_MEDIA_SUPPORT)
	$(call KCONFIG_ENABLE_OPT,CONFIG_MEDIA_CAMERA_SUPPORT)
	$(call KCONFIG_ENABLE_OPT,CONFIG_VIDEO_DEV)
	$(call KCONFIG_ENABLE_OPT,CONFIG_MEDIA_USB_SUPPORT)
	$(call KCONFIG_ENABLE_OPT,CONFIG_USB_VIDEO_CLASS)
	$(call KCONFIG_ENABLE_OPT,CONFIG_GPIO_CDEV)
	$(call KCONFIG_ENABLE_OPT,CONFIG_WATCHDOG)
	$(call KCONFIG_ENABLE_OPT,CONFIG_WATCHDOG_CORE)
endef

$(eval $(golang-package))
