import HTTPTypes

extension HTTPFields {
    /// The value of field `name`, as `self[name]` gives it: nil when absent, the values of
    /// several fields of that name joined. One field's value comes back as it is, without the
    /// generic joining `self[name]` does even for one value (unspecialised here, looking up type
    /// metadata on each call: 1.4% of the server's time on a V2 infer).
    func value(of name: HTTPField.Name) -> String? {
        var value: String?
        for field in self where field.name == name {
            guard value == nil else { return self[name] }
            value = field.value
        }
        return value
    }
}
