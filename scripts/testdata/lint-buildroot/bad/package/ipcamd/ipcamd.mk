################################################################################
#
# wrong
#
################################################################################

IPCAMD_VERSION = 1.0
IPCAMD_SITE = ${BR2_EXTERNAL_IPCAMD_PATH}/..
IPCAMD_VERSION = 2.0
FOO_BAR = 1
IPCAMD_INSTALL_TARGET = YES
IPCAMD_LDFLAGS = -s  \
	-w \


define IPCAMD_INSTALL_TARGET_CMDS
    $(INSTALL) -D -m 0755 $(IPCAMD_PKGDIR)/S99missing $(TARGET_DIR)/etc/init.d/S99missing
endef
	IPCAMD_TABBED = 1
IPCAMD_POST_INSTALL_TARGET_HOOKS += IPCAMD_UNDEFINED_HOOK 
$(eval $(golang-package))
# trailing text after eval