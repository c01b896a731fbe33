public enum AudioIOModule {}
