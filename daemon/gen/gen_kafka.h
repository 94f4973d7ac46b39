// `abusewatch gen --kafka-brokers`: the generated stream produced to a Kafka topic, one message
// per line keyed by the line's account, optionally paced to a rate.
#ifndef ABUSEWATCH_DAEMON_GEN_GEN_KAFKA_H_
#define ABUSEWATCH_DAEMON_GEN_GEN_KAFKA_H_

#include "daemon/gen/generator.h"
#include "daemon/sinks/kafka_writer.h"

namespace abusewatch {

// Generates `options.events` lines into `kafka.topic` (keys: the line's `account`, null when it
// has none; with rate > 0 at most `rate` lines/s), waits for delivery and prints a summary on
// stderr. Exit status: 0 delivered, 2 bad options or properties, 1 delivery failed.
int GenerateToKafka(const GenOptions& options, KafkaTopicWriter::Options kafka, double rate);

}  // namespace abusewatch

#endif  // ABUSEWATCH_DAEMON_GEN_GEN_KAFKA_H_
