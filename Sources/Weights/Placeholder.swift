public enum WeightsModule {}
