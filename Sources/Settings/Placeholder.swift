public enum SettingsModule {}
