################################################################################
#
# ipcamd
#
################################################################################

IPCAMD_VERSION = 1.0
IPCAMD_SITE = $(BR2_EXTERNAL_IPCAMD_PATH)/..
IPCAMD_SITE_METHOD = local
IPCAMD_LICENSE = MIT
IPCAMD_LDFLAGS = \
	-s -w
ifeq ($(BR2_aarch64),y)
IPCAMD_LDFLAGS += -X main.arch=arm64
endif

define IPCAMD_INSTALL_CONFIG
	# comments inside a define may be indented either way
	$(INSTALL) -D -m 0644 $(BR2_EXTERNAL_IPCAMD_PATH)/board/x/ipcamd.yaml \
		$(TARGET_DIR)/etc/ipcamd/ipcamd.yaml
endef
IPCAMD_POST_INSTALL_TARGET_HOOKS += IPCAMD_INSTALL_CONFIG

define IPCAMD_INSTALL_INIT_SYSV
	$(INSTALL) -D -m 0755 $(IPCAMD_PKGDIR)/S99ipcamd $(TARGET_DIR)/etc/init.d/S99ipcamd
endef

$(eval $(golang-package))
