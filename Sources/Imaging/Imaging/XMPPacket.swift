import Foundation

/// IPTC's digital source types for generated images (EU AI Act Art. 50(2) marking).
public enum DigitalSourceType: String, Sendable {
    /// Made by a generative model from a text prompt.
    case trainedAlgorithmicMedia
    /// A person's image edited or combined with generative output (reference images were used).
    case compositeWithTrainedAlgorithmicMedia

    public var uri: String { "http://cv.iptc.org/newscodes/digitalsourcetype/\(rawValue)" }
}

/// An XMP packet, the machine-readable provenance written into every output.
public struct XMPPacket: Sendable, Equatable {
    public let bytes: Data

    public init(bytes: Data) {
        self.bytes = bytes
    }

    /// A packet that states the image's IPTC digital source type.
    public static func digitalSource(_ type: DigitalSourceType) -> XMPPacket {
        let xml = """
            <?xpacket begin="\u{FEFF}" id="W5M0MpCehiHzreSzNTczkc9d"?>
            <x:xmpmeta xmlns:x="adobe:ns:meta/">
             <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
              <rdf:Description rdf:about=""
                xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/">
               <Iptc4xmpExt:DigitalSourceType>\(type.uri)</Iptc4xmpExt:DigitalSourceType>
              </rdf:Description>
             </rdf:RDF>
            </x:xmpmeta>
            <?xpacket end="r"?>
            """
        return XMPPacket(bytes: Data(xml.utf8))
    }

    public var text: String { String(decoding: bytes, as: UTF8.self) }
}
