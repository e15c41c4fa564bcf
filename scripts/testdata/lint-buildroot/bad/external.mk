include $(sort $(wildcard $(BR2_EXTERNAL_IPCAMD_PATH)/package/*/*.mk))
